/*
 * brokerclient.hpp - header-only C++20 RAII wrapper over the C API of libbrokerclient.
 *
 * Covers every function of include/brokerclient.h except the fault proxy's (bc_fault_proxy_*,
 * declared only under BC_FEATURE_FAULT_PROXY, a test-only build of the library):
 *
 *   Config, Queue, CancelToken, Message       settings, completion queue, cancellation, messages
 *   PullRequest, ExpressionType               a pull in full (SQL92 filters, commit, versions)
 *   Heartbeat, ConsumeType, MessageModel, …   a heartbeat with data (modes, subscriptions)
 *   Client                                    one broker or name server, every operation
 *                                             (with_timeout: per-call deadlines)
 *   Manager                                   many brokers: pools, health, discovery
 *                                             (client(broker): a Client on its pool)
 *   SendResult, Batch / MessageView           send outcomes (copied), pulled messages (owned)
 *   TransactionCheck, TransactionState        the broker's transaction checks (Client handler)
 *   NotifyHandler                             group membership notices (Client handler)
 *   set_log_callback / LogEvent               the library's log events
 *   Error, Result<T>                          failures (exceptions) and async outcomes
 *
 * Language: C++20. Byte inputs are std::span<const std::byte> or std::span<const uint8_t>
 * (std::span is C++20; there is no C++17 fallback view: build with -std=c++20 or later).
 * String inputs are std::string_view: each is copied to a NUL-terminated std::string for the C
 * call (the C API copies again before returning, so nothing needs to outlive a call); a view
 * containing a NUL byte is refused with Error(BC_ERR_INVALID_ARG) before anything is sent.
 * Where the C API accepts NULL for "none" (a heartbeat's producer or consumer group, a pull's
 * subscription, end_transaction's transaction id) an empty view means NULL.
 *
 * Ownership: every handle (Config, CancelToken, Message, PullRequest, Client, Manager, Batch)
 * owns its C object through a std::unique_ptr whose deleter is the matching bc_*_free, and is
 * move-only; a moved-from handle holds NULL (the C functions then refuse with
 * BC_ERR_INVALID_ARG, which throws). Queue is the one shared handle: Clients and Managers
 * created with a Queue share ownership of its bc_queue (a std::shared_ptr to a holder whose
 * destructor runs bc_queue_free), so their completions keep going to that queue until the
 * last of them is destroyed. native() gives the C pointer of any handle.
 *
 * Errors: a failing call throws brokerclient::Error (status, message, broker response code
 * and remark, broker address, retriable, fatal). Functions that cannot fail in C are noexcept.
 * Destructors never throw.
 *
 * Async operations (every *_async member) take any callable invocable with a Result<T>
 * (a lambda, a std::function, a move-only callable): a T on success, an Error otherwise.
 *   - An accepted operation calls it exactly once; then it is destroyed. A refused operation
 *     (bad argument, closed handle, full in-flight window: BC_ERR_WOULD_BLOCK, cancelled
 *     token) throws Error from the *_async call and never calls it (it is destroyed at once).
 *   - WHERE IT RUNS: for a Client or Manager created without a Queue, on a library thread,
 *     possibly several at once (make it thread-safe, never block in it: blocking calls there
 *     throw BC_ERR_WOULD_DEADLOCK). For one created with a Queue, on the thread that calls
 *     Queue::dispatch(), inside that call, in completion order (any call is allowed there,
 *     blocking ones included); also inside bc_queue_free when the last owner of the queue is
 *     destroyed with completions still waiting.
 *   - EXCEPTIONS: a callback that throws on a library thread terminates the program
 *     (std::terminate: the C library cannot unwind). Inside Queue::dispatch() the exception
 *     is caught, the other callbacks still run, and the first exception is rethrown from
 *     dispatch(); inside bc_queue_free (leftovers run while the last owner of a Queue is
 *     destroyed) it terminates, as destructors cannot throw. The persistent callbacks
 *     (transaction-check handler, log callback, queue wakeup) always run on library threads
 *     (or inside the bc_* call that logs); the notify handler runs on a library thread, or
 *     inside Queue::dispatch() for a client with a Queue: throwing from any of them terminates.
 *   - Destroying a Client or Manager cancels what is in flight: each callback still runs once,
 *     with BC_ERR_CANCELLED. Call close(timeout_ms) first to let operations finish.
 *
 * Thread-safety: Client, Manager, Queue and CancelToken may be used from any number of threads
 * (destruction must be the last use; Queue::dispatch() from one thread at a time). Config and a
 * Message being built are not thread-safe; a built Message may be sent from several threads.
 * Batch, MessageView, SendResult and Error are immutable.
 *
 * Build: -std=c++20 -I<dir of brokerclient.h> -I<dir of this file> ... -lbrokerclient
 * (installed: both headers are in <prefix>/include, so pkg-config --cflags brokerclient or
 * CMake's brokerclient::brokerclient find them). See bindings/cpp/README.md.
 */
#ifndef BROKERCLIENT_HPP
#define BROKERCLIENT_HPP

#if __cplusplus < 202002L
#error "brokerclient.hpp needs C++20 (std::span): compile with -std=c++20 or later"
#endif

#include <chrono>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "brokerclient.h"

#if !defined(BC_AT_LEAST_VERSION) || !BC_AT_LEAST_VERSION(0, 1, 0)
#error "brokerclient.hpp needs brokerclient.h 0.1.0 or newer"
#endif

namespace brokerclient {

// ------------------------------------------------------------------------------------------
// Version and status text
// ------------------------------------------------------------------------------------------

/// The library's version at run time ("0.1.0"); compare with BC_VERSION_STR.
inline const char *version() noexcept { return bc_version_str(); }
/// The library's version at run time as 0xMMmmpp; compare with BC_VERSION_NUM.
inline uint32_t version_num() noexcept { return bc_version(); }
/// True when the loaded library is the version this header describes.
inline bool library_matches_header() noexcept { return bc_version() == BC_VERSION_NUM; }
/// The symbolic name of a status, e.g. "BC_ERR_TIMEOUT" (static string).
inline const char *status_name(bc_status s) noexcept { return bc_status_name(s); }
/// A short English description of a status (static string).
inline const char *status_str(bc_status s) noexcept { return bc_status_str(s); }

// ------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------

/// A failed call or operation. what() is "<STATUS_NAME>: <message>". Copyable (exceptions are
/// copied); every field is a copy, so it outlives the C error it came from.
class Error : public std::runtime_error {
public:
    Error(bc_status status, std::string message, int32_t response_code = 0,
          std::string remark = {}, std::string broker_addr = {}, bool retriable = false,
          bool fatal = false)
        : std::runtime_error(std::string(bc_status_name(status)) + ": " + message),
          status_(status),
          message_(std::move(message)),
          response_code_(response_code),
          remark_(std::move(remark)),
          broker_addr_(std::move(broker_addr)),
          retriable_(retriable),
          fatal_(fatal) {}

    /// Copies everything out of a (borrowed) bc_error, keeping a bc_error_clone of it for
    /// native(); `err` may be NULL (the message is then the status's description).
    static Error from(bc_status status, const bc_error *err) {
        if (err == nullptr) return Error(status, bc_status_str(status));
        Error e(status, bc_error_message(err), bc_error_response_code(err), bc_error_remark(err),
                bc_error_broker_addr(err), bc_error_is_retriable(err), bc_error_is_fatal(err));
        e.native_.reset(bc_error_clone(err), &bc_error_free);
        return e;
    }
    /// As from(status, err) with the status the error itself carries (bc_error_code).
    static Error from(const bc_error *err) { return from(bc_error_code(err), err); }

    bc_status status() const noexcept { return status_; }
    /// The symbolic status, e.g. "BC_ERR_TIMEOUT" (static string).
    const char *status_name() const noexcept { return bc_status_name(status_); }
    /// The library's description of this failure.
    const std::string &message() const noexcept { return message_; }
    /// The RocketMQ response code when the broker answered with an error (e.g. 17
    /// TOPIC_NOT_EXIST), else 0.
    int32_t response_code() const noexcept { return response_code_; }
    /// The broker's remark with that response code ("" when none).
    const std::string &remark() const noexcept { return remark_; }
    /// The broker address involved ("" when not known).
    const std::string &broker_addr() const noexcept { return broker_addr_; }
    /// True when the same operation may succeed if tried again.
    bool retriable() const noexcept { return retriable_; }
    /// True when the object that reported it is unusable from now on (a caught internal bug,
    /// or a handle inherited across fork()).
    bool fatal() const noexcept { return fatal_; }
    /// The library's own error (a clone, shared by copies of this Error), or NULL for errors
    /// raised by this wrapper; valid as long as this Error (or a copy) lives.
    const bc_error *native() const noexcept { return native_.get(); }

private:
    bc_status status_;
    std::string message_;
    int32_t response_code_;
    std::string remark_;
    std::string broker_addr_;
    bool retriable_;
    bool fatal_;
    std::shared_ptr<const bc_error> native_;
};

namespace detail {

template <class T, void (*Free)(T *)>
struct Deleter {
    void operator()(T *p) const noexcept { Free(p); }
};

template <class T, void (*Free)(T *)>
using Handle = std::unique_ptr<T, Deleter<T, Free>>;

/// Throws the Error for a non-OK status; frees the owned bc_error either way.
inline void check(bc_status status, bc_error *err) {
    Handle<bc_error, bc_error_free> owned(err);
    if (status != BC_OK) throw Error::from(status, owned.get());
}

/// Calls `f(&err)` and throws on a non-OK status.
template <class F>
void call(F &&f) {
    bc_error *err = nullptr;
    bc_status st = std::forward<F>(f)(&err);
    check(st, err);
}

/// Calls `f(&value, &err)` for a C function with an int64_t out-parameter.
template <class F>
int64_t call_int64(F &&f) {
    int64_t v = 0;
    call([&](bc_error **e) { return f(&v, e); });
    return v;
}

/// Calls `f(&text, &err)` for a C function returning a string to free with bc_string_free.
template <class F>
std::string call_string(F &&f) {
    char *s = nullptr;
    call([&](bc_error **e) { return f(&s, e); });
    Handle<char, bc_string_free> owned(s);
    return owned ? std::string(owned.get()) : std::string();
}

/// A NUL-terminated copy of a std::string_view for a `const char *` parameter.
class CStr {
public:
    CStr(std::string_view s, const char *what) : s_(s) {
        if (s_.find('\0') != std::string::npos)
            throw Error(BC_ERR_INVALID_ARG, std::string(what) + ": contains a NUL byte");
    }
    const char *get() const noexcept { return s_.c_str(); }

private:
    std::string s_;
};

/// As CStr, for a parameter where the C API takes NULL for "none": empty means NULL.
class OptCStr {
public:
    OptCStr(std::string_view s, const char *what) : c_(s, what), null_(s.empty()) {}
    const char *get() const noexcept { return null_ ? nullptr : c_.get(); }

private:
    CStr c_;
    bool null_;
};

inline std::string_view view_of(const char *s) noexcept {
    return s ? std::string_view(s) : std::string_view();
}

/// Exceptions thrown by callbacks run inside Queue::dispatch are kept here and rethrown by
/// it; anywhere else (library threads, bc_queue_free) a throwing callback terminates the
/// program, as a noexcept function would.
struct DispatchState {
    int depth = 0;
    std::exception_ptr first;
};
inline thread_local DispatchState dispatch_state;

template <class F, class A>
void invoke_callback(F &f, A &&arg) noexcept {
    try {
        std::invoke(f, std::forward<A>(arg));
    } catch (...) {
        if (dispatch_state.depth == 0) std::terminate();
        if (!dispatch_state.first) dispatch_state.first = std::current_exception();
    }
}

template <class T>
struct is_std_function : std::false_type {};
template <class S>
struct is_std_function<std::function<S>> : std::true_type {};

/// True for callables that can be empty (std::function, function pointers).
template <class Fn>
constexpr bool nullable_callable = is_std_function<Fn>::value || std::is_pointer_v<Fn>;

}  // namespace detail

// ------------------------------------------------------------------------------------------
// Result<T>: a value or an Error, handed to async callbacks
// ------------------------------------------------------------------------------------------

template <class T>
class Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}

    bool ok() const noexcept { return v_.index() == 0; }
    explicit operator bool() const noexcept { return ok(); }

    /// The value; throws the Error when the operation failed.
    T &value() & {
        if (!ok()) throw std::get<1>(v_);
        return std::get<0>(v_);
    }
    const T &value() const & {
        if (!ok()) throw std::get<1>(v_);
        return std::get<0>(v_);
    }
    T &&value() && {
        if (!ok()) throw std::get<1>(v_);
        return std::get<0>(std::move(v_));
    }
    /// The error; throws std::logic_error when the operation succeeded.
    const Error &error() const {
        if (ok()) throw std::logic_error("brokerclient::Result::error() on a success");
        return std::get<1>(v_);
    }
    /// The status: BC_OK on success.
    bc_status status() const noexcept { return ok() ? BC_OK : std::get<1>(v_).status(); }

private:
    std::variant<T, Error> v_;
};

template <>
class Result<void> {
public:
    Result() = default;
    Result(Error error) : e_(std::make_unique<Error>(std::move(error))) {}
    Result(const Result &o) : e_(o.e_ ? std::make_unique<Error>(*o.e_) : nullptr) {}
    Result(Result &&) noexcept = default;
    Result &operator=(const Result &o) {
        if (this != &o) e_ = o.e_ ? std::make_unique<Error>(*o.e_) : nullptr;
        return *this;
    }
    Result &operator=(Result &&) noexcept = default;

    bool ok() const noexcept { return !e_; }
    explicit operator bool() const noexcept { return ok(); }
    /// Throws the Error when the operation failed.
    void value() const {
        if (e_) throw *e_;
    }
    const Error &error() const {
        if (!e_) throw std::logic_error("brokerclient::Result::error() on a success");
        return *e_;
    }
    bc_status status() const noexcept { return e_ ? e_->status() : BC_OK; }

private:
    // Held on the heap (NULL on success) rather than in a std::optional or std::variant: g++ 12
    // at -O2 warns about those here (-Wmaybe-uninitialized, a false positive), and -Werror
    // builds must stay clean.
    std::unique_ptr<Error> e_;
};

/// A callable an async operation completing with a T accepts.
template <class F, class T>
concept CallbackFor = std::invocable<std::decay_t<F> &, Result<T>> &&
                      std::move_constructible<std::decay_t<F>>;

// ------------------------------------------------------------------------------------------
// Config
// ------------------------------------------------------------------------------------------

/// Settings for Client and Manager (keys: see bc_config in brokerclient.h). Copied by the
/// constructors, so it may be destroyed right after. Not thread-safe; move-only.
class Config {
public:
    Config() {
        bc_config *c = nullptr;
        detail::call([&](bc_error **e) { return bc_config_new(&c, e); });
        h_.reset(c);
    }
    /// A config with these keys set, in order.
    Config(std::initializer_list<std::pair<std::string_view, std::string_view>> entries) : Config() {
        for (const auto &[k, v] : entries) set(k, v);
    }
    /// Sets `key` to `value`; throws Error (BC_ERR_INVALID_ARG) for an unknown key or a bad
    /// value, and changes nothing then.
    Config &set(std::string_view key, std::string_view value) {
        detail::CStr k(key, "key"), v(value, "value");
        detail::call([&](bc_error **e) { return bc_config_set(h_.get(), k.get(), v.get(), e); });
        return *this;
    }
    /// The value set for `key` (secrets read "***"); nullopt when not set (it has its
    /// default). Throws Error (BC_ERR_INVALID_ARG) for an unknown key.
    std::optional<std::string> get(std::string_view key) const {
        detail::CStr k(key, "key");
        char *v = nullptr;
        detail::call([&](bc_error **e) { return bc_config_get(h_.get(), k.get(), &v, e); });
        detail::Handle<char, bc_string_free> owned(v);
        if (!owned) return std::nullopt;
        return std::string(owned.get());
    }
    /// Every key set, as a JSON object of strings (secrets as "***").
    std::string dump() const {
        return detail::call_string([&](char **s, bc_error **e) { return bc_config_dump(h_.get(), s, e); });
    }
    /// An independent copy (bc_config_dup), e.g. to change one setting for another client.
    Config clone() const {
        bc_config *c = nullptr;
        detail::call([&](bc_error **e) { return bc_config_dup(h_.get(), &c, e); });
        return Config(c);
    }
    const bc_config *native() const noexcept { return h_.get(); }

private:
    explicit Config(bc_config *c) noexcept : h_(c) {}
    detail::Handle<bc_config, bc_config_free> h_;
};

// ------------------------------------------------------------------------------------------
// Queue
// ------------------------------------------------------------------------------------------

namespace detail {

/// The bc_queue and its wakeup callback, owned together: the wakeup may fire (on a library
/// thread) as long as the bc_queue lives, which is as long as any Client/Manager created with
/// it lives.
struct QueueState {
    bc_queue *q = nullptr;
    std::mutex wake_mu;  // serializes set_wakeup
    std::unique_ptr<std::function<void()>> wake;

    QueueState() {
        call([&](bc_error **e) { return bc_queue_new(&q, e); });
    }
    QueueState(const QueueState &) = delete;
    QueueState &operator=(const QueueState &) = delete;
    ~QueueState() {
        if (wake) bc_queue_set_wakeup(q, nullptr, nullptr, nullptr);
        bc_queue_free(q);  // delivers what is still queued, on this thread
    }

    static void on_wake(void *ud) noexcept { (*static_cast<std::function<void()> *>(ud))(); }
};

}  // namespace detail

/// A completion queue: a Client or Manager created with it runs its async callbacks on the
/// thread that calls dispatch(), inside that call. Wait on fd() with your event loop (or call
/// wait()), then dispatch(). Clients and Managers share ownership of the underlying bc_queue,
/// so it is freed only after the last of them and this Queue are gone (leftover completions
/// are then delivered on the thread destroying the last owner). Thread-safe, except that
/// dispatch() should run on one thread at a time. Move-only.
class Queue {
public:
    Queue() : s_(std::make_shared<detail::QueueState>()) {}
    Queue(Queue &&) noexcept = default;
    Queue &operator=(Queue &&) noexcept = default;
    Queue(const Queue &) = delete;
    Queue &operator=(const Queue &) = delete;

    /// A non-blocking descriptor, readable while completions wait (level-triggered); poll it
    /// for reading. Never read, write or close it. -1 for a moved-from Queue.
    int fd() const noexcept { return bc_queue_fd(native()); }

    /// Runs up to `max` waiting callbacks (0: all waiting now) on this thread; returns how
    /// many ran. If callbacks threw, the first exception is rethrown after all have run (the
    /// count is then lost); the others are dropped.
    size_t dispatch(size_t max = 0) {
        auto &st = detail::dispatch_state;
        ++st.depth;
        size_t n = bc_queue_dispatch(native(), max);
        if (--st.depth == 0 && st.first) std::rethrow_exception(std::exchange(st.first, nullptr));
        return n;
    }

    /// Blocks up to `timeout_ms` (negative: forever) until completions wait or wakeup() is
    /// called; returns how many wait (0 on timeout or wakeup).
    size_t wait(int32_t timeout_ms) const noexcept { return bc_queue_wait(native(), timeout_ms); }
    /// Wakes every wait() on this queue. Any thread.
    void wakeup() const noexcept { bc_queue_wakeup(native()); }
    /// Completions waiting.
    size_t size() const noexcept { return bc_queue_len(native()); }

    /// Sets the function run each time the queue goes from empty to non-empty, for loops woken
    /// by a thread-safe call (uv_async_send, an eventfd write, a condition variable). It runs
    /// on the completing library thread: it must be fast, must not block, must not call into
    /// the library, and must not throw (that terminates). An empty function clears it. The
    /// previous function is destroyed once it can no longer run.
    void set_wakeup(std::function<void()> fn) {
        if (!s_) throw Error(BC_ERR_INVALID_ARG, "queue: moved from");
        std::lock_guard<std::mutex> lock(s_->wake_mu);
        std::unique_ptr<std::function<void()>> next;
        if (fn) next = std::make_unique<std::function<void()>>(std::move(fn));
        detail::call([&](bc_error **e) {
            return bc_queue_set_wakeup(s_->q, next ? &detail::QueueState::on_wake : nullptr,
                                       next.get(), e);
        });
        // The library calls the wakeup under the lock bc_queue_set_wakeup takes: the old
        // function is not running now and never runs again.
        s_->wake = std::move(next);
    }
    /// Removes the wakeup function.
    void clear_wakeup() { set_wakeup(nullptr); }

    bc_queue *native() const noexcept { return s_ ? s_->q : nullptr; }

private:
    friend class Client;
    friend class Manager;
    std::shared_ptr<detail::QueueState> s_;
};

// ------------------------------------------------------------------------------------------
// CancelToken
// ------------------------------------------------------------------------------------------

/// Cancels the operations started with it (the *_async overloads taking a CancelToken): each
/// one not completed yet completes, soon and once, with BC_ERR_CANCELLED; operations started
/// with it after cancel() are refused (the *_async call throws BC_ERR_CANCELLED). Operations do
/// not need the token to stay alive; destroying it cancels nothing. Thread-safe; move-only.
class CancelToken {
public:
    CancelToken() {
        bc_cancel_token *t = nullptr;
        detail::call([&](bc_error **e) { return bc_cancel_token_new(&t, e); });
        h_.reset(t);
    }
    /// Never blocks and never runs a callback on this thread: safe inside callbacks.
    void cancel() const noexcept { bc_cancel_token_cancel(h_.get()); }
    bool is_cancelled() const noexcept { return bc_cancel_token_is_cancelled(h_.get()); }
    const bc_cancel_token *native() const noexcept { return h_.get(); }

private:
    detail::Handle<bc_cancel_token, bc_cancel_token_free> h_;
};

// ------------------------------------------------------------------------------------------
// Message
// ------------------------------------------------------------------------------------------

/// A message to send. Sends copy what they need, so a message may be reused or destroyed
/// right after a send returns (also an async one). Not thread-safe while being built;
/// move-only. Setters return *this for chaining and throw Error (BC_ERR_INVALID_ARG) for a
/// value the library refuses.
class Message {
public:
    Message(std::string_view topic, std::span<const uint8_t> body) {
        detail::CStr t(topic, "topic");
        bc_message *m = nullptr;
        // An empty span may have a NULL data(): give the library a real (empty) buffer.
        static const uint8_t none = 0;
        const uint8_t *data = body.empty() ? &none : body.data();
        detail::call([&](bc_error **e) { return bc_message_new(t.get(), data, body.size(), &m, e); });
        h_.reset(m);
    }
    Message(std::string_view topic, std::span<const std::byte> body)
        : Message(topic, std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(body.data()), body.size())) {}
    /// A text (or any byte string) body.
    Message(std::string_view topic, std::string_view body)
        : Message(topic, std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(body.data()), body.size())) {}
    Message(std::string_view topic, const char *body) : Message(topic, std::string_view(body)) {}

    /// The tag (server-side filtering).
    Message &tags(std::string_view tags) {
        detail::CStr s(tags, "tags");
        detail::call([&](bc_error **e) { return bc_message_set_tags(h_.get(), s.get(), e); });
        return *this;
    }
    /// Business keys, space-separated (indexed by the broker).
    Message &keys(std::string_view keys) {
        detail::CStr s(keys, "keys");
        detail::call([&](bc_error **e) { return bc_message_set_keys(h_.get(), s.get(), e); });
        return *this;
    }
    /// A user property; names the system reserves (KEYS, TAGS, DELAY, UNIQ_KEY, ...) are
    /// refused: use the setters.
    Message &property(std::string_view name, std::string_view value) {
        detail::CStr n(name, "name"), v(value, "value");
        detail::call([&](bc_error **e) { return bc_message_set_property(h_.get(), n.get(), v.get(), e); });
        return *this;
    }
    /// 1..18 (1s 5s 10s 30s 1m 2m ... 2h).
    Message &delay_level(int32_t level) {
        detail::call([&](bc_error **e) { return bc_message_set_delay_level(h_.get(), level, e); });
        return *this;
    }
    /// Delivered `delay_ms` after it is stored (RocketMQ 5.x timer messages; 4.x ignores it).
    Message &delay_time_ms(int64_t delay_ms) {
        detail::call([&](bc_error **e) { return bc_message_set_delay_time_ms(h_.get(), delay_ms, e); });
        return *this;
    }
    Message &delay(std::chrono::milliseconds d) { return delay_time_ms(d.count()); }
    /// Delivered at `deliver_at_ms`, epoch milliseconds (5.x timer messages; 4.x ignores it).
    Message &deliver_time_ms(int64_t deliver_at_ms) {
        detail::call([&](bc_error **e) { return bc_message_set_deliver_time_ms(h_.get(), deliver_at_ms, e); });
        return *this;
    }
    Message &deliver_at(std::chrono::system_clock::time_point at) {
        return deliver_time_ms(
            std::chrono::duration_cast<std::chrono::milliseconds>(at.time_since_epoch()).count());
    }
    /// Whether the broker answers only once the message is flushed (default true).
    Message &wait_store(bool wait) {
        detail::call([&](bc_error **e) { return bc_message_set_wait_store(h_.get(), wait, e); });
        return *this;
    }
    /// The user flag stored with the message.
    Message &flag(int32_t flag) {
        detail::call([&](bc_error **e) { return bc_message_set_flag(h_.get(), flag, e); });
        return *this;
    }
    /// A transaction half message: end it with Client::end_transaction or let the broker ask
    /// the Client's transaction-check handler.
    Message &transactional() {
        detail::call([&](bc_error **e) { return bc_message_set_transactional(h_.get(), e); });
        return *this;
    }
    const bc_message *native() const noexcept { return h_.get(); }

private:
    detail::Handle<bc_message, bc_message_free> h_;
};

// ------------------------------------------------------------------------------------------
// Send results
// ------------------------------------------------------------------------------------------

enum class SendStatus : int32_t {
    Ok = 0,
    FlushDiskTimeout = 1,
    FlushSlaveTimeout = 2,
    SlaveNotAvailable = 3,
};

/// The outcome of a send (a copy: no lifetime rules). All four statuses mean "stored".
struct SendResult {
    SendStatus status = SendStatus::Ok;
    /// The client message id (UNIQ_KEY); comma-joined for a batch.
    std::string msg_id;
    /// The broker's offset message id (for Client::view_message).
    std::string offset_msg_id;
    /// The transaction id of a half message ("" otherwise).
    std::string transaction_id;
    int32_t queue_id = -1;
    int64_t queue_offset = -1;

    /// Copies a C result (borrowed; not freed).
    static SendResult from(const bc_send_result *r) {
        SendResult s;
        s.status = static_cast<SendStatus>(bc_send_result_status(r));
        s.msg_id = detail::view_of(bc_send_result_msg_id(r));
        s.offset_msg_id = detail::view_of(bc_send_result_offset_msg_id(r));
        s.transaction_id = detail::view_of(bc_send_result_transaction_id(r));
        s.queue_id = bc_send_result_queue_id(r);
        s.queue_offset = bc_send_result_queue_offset(r);
        return s;
    }
    /// Copies and frees a C result a blocking send returned.
    static SendResult take(bc_send_result *r) {
        detail::Handle<bc_send_result, bc_send_result_free> owned(r);
        return from(owned.get());
    }
};

// ------------------------------------------------------------------------------------------
// Batch (pulled messages)
// ------------------------------------------------------------------------------------------

enum class PullStatus : int32_t {
    Found = 0,
    NoNewMsg = 1,
    NoMatchedMsg = 2,
    OffsetIllegal = 3,
};

/// One pulled message. Every view points into the Batch it came from and is valid until that
/// Batch is destroyed.
class MessageView {
public:
    explicit MessageView(const bc_message_view &v) noexcept : v_(v) {}

    /// The body as text (any bytes).
    std::string_view body() const noexcept {
        return v_.body_len ? std::string_view(reinterpret_cast<const char *>(v_.body), v_.body_len)
                           : std::string_view();
    }
    /// The body as bytes.
    std::span<const std::byte> bytes() const noexcept {
        return v_.body_len ? std::span<const std::byte>(reinterpret_cast<const std::byte *>(v_.body), v_.body_len)
                           : std::span<const std::byte>();
    }
    std::string_view topic() const noexcept { return detail::view_of(v_.topic); }
    /// "" when the message has no tag.
    std::string_view tags() const noexcept { return detail::view_of(v_.tags); }
    /// Space-separated; "" when none.
    std::string_view keys() const noexcept { return detail::view_of(v_.keys); }
    /// The client message id (UNIQ_KEY), or the offset id when there is none.
    std::string_view msg_id() const noexcept { return detail::view_of(v_.msg_id); }
    std::string_view offset_msg_id() const noexcept { return detail::view_of(v_.offset_msg_id); }
    int32_t queue_id() const noexcept { return v_.queue_id; }
    int32_t flag() const noexcept { return v_.flag; }
    int64_t queue_offset() const noexcept { return v_.queue_offset; }
    int64_t commit_log_offset() const noexcept { return v_.commit_log_offset; }
    int64_t born_timestamp() const noexcept { return v_.born_timestamp; }
    int64_t store_timestamp() const noexcept { return v_.store_timestamp; }
    int32_t reconsume_times() const noexcept { return v_.reconsume_times; }
    const bc_message_view &native() const noexcept { return v_; }

private:
    bc_message_view v_;
};

/// The outcome of a pull (or a view_message) and its messages. Owns the bc_batch; immutable,
/// so readable from any thread; move-only.
class Batch {
public:
    /// Takes ownership of `b` (from bc_client_pull or a pull callback).
    explicit Batch(bc_batch *b) noexcept : h_(b) {}

    PullStatus status() const noexcept { return static_cast<PullStatus>(bc_batch_status(h_.get())); }
    /// Where the next pull of this queue should start.
    int64_t next_offset() const noexcept { return bc_batch_next_offset(h_.get()); }
    /// The queue's smallest stored offset at pull time (-1 for a view_message batch).
    int64_t min_offset() const noexcept { return bc_batch_min_offset(h_.get()); }
    /// The queue's next offset to be written at pull time (-1 for a view_message batch).
    int64_t max_offset() const noexcept { return bc_batch_max_offset(h_.get()); }
    size_t size() const noexcept { return bc_batch_len(h_.get()); }
    bool empty() const noexcept { return size() == 0; }

    /// Message `i`; throws Error (BC_ERR_INVALID_ARG) when out of range.
    MessageView at(size_t i) const {
        bc_message_view v{};
        v.struct_size = sizeof v;
        detail::call([&](bc_error **e) { return bc_batch_get(h_.get(), i, &v, e); });
        return MessageView(v);
    }
    MessageView operator[](size_t i) const { return at(i); }

    /// The value of property `name` of message `i`, if it has one (valid until the Batch is
    /// destroyed).
    std::optional<std::string_view> property(size_t i, std::string_view name) const {
        detail::CStr n(name, "name");
        const char *v = bc_batch_property(h_.get(), i, n.get());
        if (v == nullptr) return std::nullopt;
        return std::string_view(v);
    }

    /// How many properties message `i` carries (system ones such as UNIQ_KEY, KEYS, TAGS
    /// included); 0 when out of range.
    size_t property_count(size_t i) const noexcept { return bc_batch_property_count(h_.get(), i); }
    /// Every property of message `i` (name, value), in the order the broker stored them;
    /// views valid until the Batch is destroyed. Throws Error (BC_ERR_INVALID_ARG) when `i` is
    /// out of range.
    std::vector<std::pair<std::string_view, std::string_view>> properties(size_t i) const {
        if (i >= size()) throw Error(BC_ERR_INVALID_ARG, "index: out of range");
        std::vector<std::pair<std::string_view, std::string_view>> out;
        size_t n = property_count(i);
        out.reserve(n);
        for (size_t j = 0; j < n; j++) {
            const char *name = nullptr, *value = nullptr;
            detail::call([&](bc_error **e) { return bc_batch_property_at(h_.get(), i, j, &name, &value, e); });
            out.emplace_back(detail::view_of(name), detail::view_of(value));
        }
        return out;
    }

    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = MessageView;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = MessageView;

        iterator() noexcept = default;
        iterator(const Batch *b, size_t i) noexcept : b_(b), i_(i) {}
        MessageView operator*() const { return b_->at(i_); }
        iterator &operator++() noexcept {
            ++i_;
            return *this;
        }
        iterator operator++(int) noexcept {
            iterator old = *this;
            ++i_;
            return old;
        }
        bool operator==(const iterator &o) const noexcept { return b_ == o.b_ && i_ == o.i_; }

    private:
        const Batch *b_ = nullptr;
        size_t i_ = 0;
    };
    iterator begin() const noexcept { return iterator(this, 0); }
    iterator end() const noexcept { return iterator(this, size()); }

    const bc_batch *native() const noexcept { return h_.get(); }
    /// Gives up ownership (free it with bc_batch_free).
    bc_batch *release() noexcept { return h_.release(); }

private:
    detail::Handle<bc_batch, bc_batch_free> h_;
};

// ------------------------------------------------------------------------------------------
// PullRequest
// ------------------------------------------------------------------------------------------

/// The language of a pull's filter expression.
enum class ExpressionType : int32_t {
    Tag = BC_EXPRESSION_TAG,      ///< "*", "a", "a || b"
    Sql92 = BC_EXPRESSION_SQL92,  ///< "a > 5 AND b = 'x'" (the broker needs enablePropertyFilter)
};

/// A pull described in full, for Client::pull / Manager::pull (and their async forms): the
/// filter in either language, long polling, an offset committed with the pull, the
/// subscription version. Defaults: 32 messages, expression "*" (Tag), no long polling, no
/// commit. Pulls copy it, so a built request may be reused (set the next offset between
/// pulls) and used from several threads; not thread-safe while being changed. Move-only.
class PullRequest {
public:
    PullRequest(std::string_view consumer_group, std::string_view topic, int32_t queue_id, int64_t offset) {
        detail::CStr g(consumer_group, "consumer_group"), t(topic, "topic");
        bc_pull_request *r = nullptr;
        detail::call([&](bc_error **e) { return bc_pull_request_new(g.get(), t.get(), queue_id, offset, &r, e); });
        h_.reset(r);
    }
    /// The first offset wanted (e.g. the previous Batch's next_offset()).
    PullRequest &offset(int64_t offset) {
        detail::call([&](bc_error **e) { return bc_pull_request_set_offset(h_.get(), offset, e); });
        return *this;
    }
    /// At most this many messages (1 and up).
    PullRequest &max_messages(int32_t n) {
        detail::call([&](bc_error **e) { return bc_pull_request_set_max_messages(h_.get(), n, e); });
        return *this;
    }
    /// The filter carried by the pull. An empty `expression` means none: the subscription the
    /// group registered by heartbeat is used (with sub_version()).
    PullRequest &expression(std::string_view expression, ExpressionType type = ExpressionType::Tag) {
        detail::OptCStr x(expression, "expression");
        detail::call([&](bc_error **e) {
            return bc_pull_request_set_expression(h_.get(), x.get(), static_cast<int32_t>(type), e);
        });
        return *this;
    }
    /// Long polling: the broker holds the pull up to `suspend_timeout_ms` while nothing is
    /// new; 0 turns it off.
    PullRequest &long_polling(int32_t suspend_timeout_ms) {
        detail::call([&](bc_error **e) { return bc_pull_request_set_long_polling(h_.get(), suspend_timeout_ms, e); });
        return *this;
    }
    /// Commits `offset` for the group with the pull; negative: no commit (the default).
    PullRequest &commit_offset(int64_t offset) {
        detail::call([&](bc_error **e) { return bc_pull_request_set_commit_offset(h_.get(), offset, e); });
        return *this;
    }
    /// The subscription version sent with the pull (default 0).
    PullRequest &sub_version(int64_t version) {
        detail::call([&](bc_error **e) { return bc_pull_request_set_sub_version(h_.get(), version, e); });
        return *this;
    }
    const bc_pull_request *native() const noexcept { return h_.get(); }

private:
    detail::Handle<bc_pull_request, bc_pull_request_free> h_;
};

// ------------------------------------------------------------------------------------------
// Heartbeats with data (group membership)
// ------------------------------------------------------------------------------------------

/// How a consumer group takes its messages.
enum class ConsumeType : int32_t {
    Actively = BC_CONSUME_ACTIVELY,    ///< a pull consumer
    Passively = BC_CONSUME_PASSIVELY,  ///< a push consumer
    Pop = BC_CONSUME_POP,              ///< a pop consumer (RocketMQ 5)
};

/// How a consumer group shares a topic's messages.
enum class MessageModel : int32_t {
    Clustering = BC_MESSAGE_MODEL_CLUSTERING,      ///< each message to one member
    Broadcasting = BC_MESSAGE_MODEL_BROADCASTING,  ///< each message to every member
};

/// Where a consumer group with no committed offset starts.
enum class ConsumeFromWhere : int32_t {
    LastOffset = BC_CONSUME_FROM_LAST_OFFSET,
    FirstOffset = BC_CONSUME_FROM_FIRST_OFFSET,
    Timestamp = BC_CONSUME_FROM_TIMESTAMP,
};

/// The data of a heartbeat, for Client::send_heartbeat / Manager::send_heartbeat: producer
/// groups, and consumer groups with their modes and topic subscriptions. Builder calls chain;
/// a sent heartbeat is copied, so it may be reused or destroyed at once.
class Heartbeat {
public:
    Heartbeat() {
        bc_heartbeat *h = nullptr;
        detail::call([&](bc_error **e) { return bc_heartbeat_new(&h, e); });
        h_.reset(h);
    }
    /// Adds a producer group.
    Heartbeat &producer(std::string_view producer_group) {
        detail::CStr g(producer_group, "producer_group");
        detail::call([&](bc_error **e) { return bc_heartbeat_add_producer(h_.get(), g.get(), e); });
        return *this;
    }
    /// Adds (or updates the modes of) a consumer group.
    Heartbeat &consumer(std::string_view consumer_group, ConsumeType type = ConsumeType::Actively,
                        MessageModel model = MessageModel::Clustering,
                        ConsumeFromWhere from = ConsumeFromWhere::FirstOffset) {
        detail::CStr g(consumer_group, "consumer_group");
        detail::call([&](bc_error **e) {
            return bc_heartbeat_add_consumer(h_.get(), g.get(), static_cast<int32_t>(type),
                                             static_cast<int32_t>(model), static_cast<int32_t>(from), e);
        });
        return *this;
    }
    /// Subscribes a consumer group added before to `topic` (replacing an earlier subscription
    /// of that topic).
    Heartbeat &subscribe(std::string_view consumer_group, std::string_view topic, std::string_view expression = "*",
                         ExpressionType type = ExpressionType::Tag) {
        detail::CStr g(consumer_group, "consumer_group"), t(topic, "topic"), x(expression, "expression");
        detail::call([&](bc_error **e) {
            return bc_heartbeat_add_subscription(h_.get(), g.get(), t.get(), x.get(), static_cast<int32_t>(type), e);
        });
        return *this;
    }
    const bc_heartbeat *native() const noexcept { return h_.get(); }

private:
    detail::Handle<bc_heartbeat, bc_heartbeat_free> h_;
};

// ------------------------------------------------------------------------------------------
// Queue locks (ordered consumption)
// ------------------------------------------------------------------------------------------

/// A queue of a topic on a broker (by name), for Client::lock_batch_mq / unlock_batch_mq.
struct MessageQueue {
    std::string topic;
    std::string broker_name;
    int32_t queue_id = 0;
    bool operator==(const MessageQueue &) const = default;
};

namespace detail {
inline void json_string(std::string &out, std::string_view s) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += ch;
        } else if (c < 0x20) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else {
            out += ch;
        }
    }
    out += '"';
}
}  // namespace detail

/// The JSON array lock_batch_mq and unlock_batch_mq take:
/// [{"topic": "...", "brokerName": "...", "queueId": 0}, ...].
inline std::string message_queues_json(std::span<const MessageQueue> mqs) {
    std::string out = "[";
    for (const MessageQueue &mq : mqs) {
        if (out.size() > 1) out += ',';
        out += "{\"topic\":";
        detail::json_string(out, mq.topic);
        out += ",\"brokerName\":";
        detail::json_string(out, mq.broker_name);
        out += ",\"queueId\":" + std::to_string(mq.queue_id) + "}";
    }
    return out + "]";
}

// ------------------------------------------------------------------------------------------
// Transactions
// ------------------------------------------------------------------------------------------

/// A half message's fate (end_transaction, and what a transaction-check handler returns).
enum class TransactionState : int32_t {
    Unknown = 0,  ///< the broker asks again later
    Commit = 1,
    Rollback = 2,
};

/// The broker's question about a half message, seen by a transaction-check handler. Borrowed:
/// it and every view it returns are valid only during the handler; copy what you keep.
class TransactionCheck {
public:
    explicit TransactionCheck(const bc_transaction_check *c) noexcept : c_(c) {}
    /// The half message's id, as its send returned in SendResult::msg_id.
    std::string_view msg_id() const noexcept { return detail::view_of(bc_transaction_check_msg_id(c_)); }
    /// As SendResult::transaction_id ("" when none).
    std::string_view transaction_id() const noexcept {
        return detail::view_of(bc_transaction_check_transaction_id(c_));
    }
    /// The half message's real topic.
    std::string_view topic() const noexcept { return detail::view_of(bc_transaction_check_topic(c_)); }
    std::span<const std::byte> bytes() const noexcept {
        size_t n = 0;
        const uint8_t *p = bc_transaction_check_body(c_, &n);
        return p ? std::span<const std::byte>(reinterpret_cast<const std::byte *>(p), n)
                 : std::span<const std::byte>();
    }
    std::string_view body() const noexcept {
        auto b = bytes();
        return b.empty() ? std::string_view()
                         : std::string_view(reinterpret_cast<const char *>(b.data()), b.size());
    }
    /// A property of the half message (user properties, "PGROUP", "TAGS", ...), if present.
    std::optional<std::string_view> property(std::string_view name) const {
        detail::CStr n(name, "name");
        const char *v = bc_transaction_check_property(c_, n.get());
        if (v == nullptr) return std::nullopt;
        return std::string_view(v);
    }
    const bc_transaction_check *native() const noexcept { return c_; }

private:
    const bc_transaction_check *c_;
};

/// Answers transaction checks. Runs on a library thread (also for clients with a Queue: the
/// broker waits for the answer), possibly concurrently; it may block briefly but must not
/// make blocking calls on the library (they throw BC_ERR_WOULD_DEADLOCK) and must not throw
/// (that terminates).
using TransactionCheckHandler = std::function<TransactionState(const TransactionCheck &)>;

/// Told that a consumer group this client registered gained or lost a member (the broker's
/// consumer-ids-changed notice; the view is borrowed for the call). Runs on a library thread,
/// or inside Queue::dispatch() for a client created with a Queue; it must not throw (that
/// terminates) and, on a library thread, must not make blocking calls on the library.
using NotifyHandler = std::function<void(std::string_view consumer_group)>;

/// Receives a client's statistics (stats_json()'s text, borrowed for the call) every interval.
/// Runs on a library thread, or inside Queue::dispatch() for a client created with a Queue;
/// it must not throw (that terminates).
using StatsHandler = std::function<void(std::string_view json)>;

// ------------------------------------------------------------------------------------------
// Logging
// ------------------------------------------------------------------------------------------

enum class LogLevel : int32_t { Error = 1, Warn = 2, Info = 3, Debug = 4, Trace = 5 };

/// One log event; every view is borrowed for the callback.
struct LogEvent {
    LogLevel level;
    /// The emitting module, e.g. "brokerclient::transport::connection".
    std::string_view target;
    /// The event's text, e.g. "connected".
    std::string_view message;
    /// key=value pairs separated by single spaces (values with spaces, '=', '"' or control
    /// characters double-quoted with \" \\ \n \r \t \uXXXX escapes); "" when none.
    std::string_view fields;

    /// `fields` split into (key, unquoted value) pairs, in order.
    static std::vector<std::pair<std::string, std::string>> parse_fields(std::string_view f) {
        std::vector<std::pair<std::string, std::string>> out;
        size_t i = 0;
        while (i < f.size()) {
            size_t eq = f.find('=', i);
            if (eq == std::string_view::npos) break;
            std::string key(f.substr(i, eq - i)), value;
            i = eq + 1;
            if (i < f.size() && f[i] == '"') {
                for (++i; i < f.size() && f[i] != '"'; ++i) {
                    if (f[i] != '\\' || i + 1 == f.size()) {
                        value += f[i];
                        continue;
                    }
                    char c = f[++i];
                    switch (c) {
                    case 'n': value += '\n'; break;
                    case 'r': value += '\r'; break;
                    case 't': value += '\t'; break;
                    case 'u': {
                        unsigned cp = 0;
                        size_t k = 0;
                        for (; k < 4 && i + 1 < f.size(); ++k) {
                            char h = f[i + 1];
                            unsigned d = (h >= '0' && h <= '9')   ? unsigned(h - '0')
                                         : (h >= 'a' && h <= 'f') ? unsigned(h - 'a' + 10)
                                         : (h >= 'A' && h <= 'F') ? unsigned(h - 'A' + 10)
                                                                  : 16u;
                            if (d == 16) break;
                            cp = cp * 16 + d;
                            ++i;
                        }
                        if (cp < 0x80) {
                            value += char(cp);
                        } else if (cp < 0x800) {
                            value += char(0xC0 | (cp >> 6));
                            value += char(0x80 | (cp & 0x3F));
                        } else {
                            value += char(0xE0 | (cp >> 12));
                            value += char(0x80 | ((cp >> 6) & 0x3F));
                            value += char(0x80 | (cp & 0x3F));
                        }
                        break;
                    }
                    default: value += c; break;  // \" and \\ (and anything else verbatim)
                    }
                }
                if (i < f.size()) ++i;  // the closing quote
            } else {
                size_t sp = f.find(' ', i);
                if (sp == std::string_view::npos) sp = f.size();
                value.assign(f.substr(i, sp - i));
                i = sp;
            }
            out.emplace_back(std::move(key), std::move(value));
            if (i < f.size() && f[i] == ' ') ++i;
        }
        return out;
    }
    /// The (unquoted) value of field `key`, if present.
    std::optional<std::string> field(std::string_view key) const {
        for (auto &[k, v] : parse_fields(fields))
            if (k == key) return std::move(v);
        return std::nullopt;
    }
};

/// Receives log events: on the thread that emitted the event (a library thread, or yours
/// inside a bc_* call), possibly on several threads at once. Must be thread-safe, fast, must
/// not block and must not throw (that terminates).
using LogCallback = std::function<void(const LogEvent &)>;

namespace detail {
inline void log_trampoline(void *ud, int32_t level, const char *target, const char *message,
                           const char *fields) noexcept {
    LogEvent ev{static_cast<LogLevel>(level), view_of(target), view_of(message), view_of(fields)};
    (*static_cast<LogCallback *>(ud))(ev);
}
inline void delete_log_callback(void *ud) noexcept { delete static_cast<LogCallback *>(ud); }
}  // namespace detail

/// Routes the library's log events at `level` or more severe to `cb` (process-wide; replaces
/// any previous callback; an empty function removes it). The library owns the copy of `cb`
/// and destroys it (through bc_set_log_callback's free function) once it is replaced or
/// removed and no longer running. Throws Error (BC_ERR_INVALID_ARG) for a level outside
/// Error..Trace, or when a Rust program embedding the library installed its own subscriber.
inline void set_log_callback(LogLevel level, LogCallback cb) {
    if (!cb) {
        detail::call([&](bc_error **e) { return bc_set_log_callback(0, nullptr, nullptr, nullptr, e); });
        return;
    }
    auto holder = std::make_unique<LogCallback>(std::move(cb));
    detail::call([&](bc_error **e) {
        return bc_set_log_callback(static_cast<int32_t>(level), &detail::log_trampoline, holder.get(),
                                   &detail::delete_log_callback, e);
    });
    holder.release();  // the library frees it with delete_log_callback
}
/// Removes the log callback (when this returns it is no longer running, unless called from
/// inside it).
inline void clear_log_callback() { set_log_callback(LogLevel::Error, nullptr); }

// ------------------------------------------------------------------------------------------
// Async plumbing
// ------------------------------------------------------------------------------------------

/// std::function forms of the callables async operations accept (any callable works).
using DoneCallback = std::function<void(Result<void>)>;
using SendCallback = std::function<void(Result<SendResult>)>;
using PullCallback = std::function<void(Result<Batch>)>;
using Int64Callback = std::function<void(Result<int64_t>)>;
using StringCallback = std::function<void(Result<std::string>)>;

namespace detail {

// One "kind" per C callback shape: its trampoline turns the C completion into a Result<T>,
// calls the heap-held callable once and destroys it.

struct DoneKind {
    using c_callback = bc_done_cb;
    template <class Fn>
    static void trampoline(void *ud, bc_status st, const bc_error *err) noexcept {
        std::unique_ptr<Fn> f(static_cast<Fn *>(ud));
        if (st == BC_OK)
            invoke_callback(*f, Result<void>());
        else
            invoke_callback(*f, Result<void>(Error::from(st, err)));
    }
};

struct SendKind {
    using c_callback = bc_send_cb;
    template <class Fn>
    static void trampoline(void *ud, bc_status st, const bc_error *err, const bc_send_result *r) noexcept {
        std::unique_ptr<Fn> f(static_cast<Fn *>(ud));
        if (st == BC_OK && r != nullptr)
            invoke_callback(*f, Result<SendResult>(SendResult::from(r)));
        else
            invoke_callback(*f, Result<SendResult>(Error::from(st == BC_OK ? BC_ERR_FATAL : st, err)));
    }
};

struct PullKind {
    using c_callback = bc_pull_cb;
    template <class Fn>
    static void trampoline(void *ud, bc_status st, const bc_error *err, bc_batch *b) noexcept {
        std::unique_ptr<Fn> f(static_cast<Fn *>(ud));
        Batch batch(b);  // owned from here on, whatever happens
        if (st == BC_OK && b != nullptr)
            invoke_callback(*f, Result<Batch>(std::move(batch)));
        else
            invoke_callback(*f, Result<Batch>(Error::from(st == BC_OK ? BC_ERR_FATAL : st, err)));
    }
};

struct Int64Kind {
    using c_callback = bc_int64_cb;
    template <class Fn>
    static void trampoline(void *ud, bc_status st, const bc_error *err, int64_t v) noexcept {
        std::unique_ptr<Fn> f(static_cast<Fn *>(ud));
        if (st == BC_OK)
            invoke_callback(*f, Result<int64_t>(v));
        else
            invoke_callback(*f, Result<int64_t>(Error::from(st, err)));
    }
};

/// JSON (bc_json_cb) and plain text (bc_string_cb): the same shape.
struct TextKind {
    using c_callback = bc_json_cb;
    template <class Fn>
    static void trampoline(void *ud, bc_status st, const bc_error *err, const char *s) noexcept {
        std::unique_ptr<Fn> f(static_cast<Fn *>(ud));
        if (st == BC_OK && s != nullptr)
            invoke_callback(*f, Result<std::string>(std::string(s)));
        else
            invoke_callback(*f, Result<std::string>(Error::from(st == BC_OK ? BC_ERR_FATAL : st, err)));
    }
};
static_assert(std::is_same_v<bc_json_cb, bc_string_cb>, "bc_json_cb and bc_string_cb have one shape");

/// Starts an async C call with a heap-held callable: `start(c_callback, user_data, &err)`.
/// On a refused call (non-OK return: the callback never runs) the callable is destroyed and
/// the Error thrown; on BC_OK the trampoline owns it (it may even have run already).
template <class Kind, class F, class Start>
void start_async(F &&cb, Start &&start) {
    using Fn = std::decay_t<F>;
    if constexpr (nullable_callable<Fn>) {
        if (!cb) throw Error(BC_ERR_INVALID_ARG, "callback: empty");
    }
    auto holder = std::make_unique<Fn>(std::forward<F>(cb));
    typename Kind::c_callback tramp = &Kind::template trampoline<Fn>;
    bc_error *err = nullptr;
    bc_status st = start(tramp, static_cast<void *>(holder.get()), &err);
    check(st, err);
    holder.release();
}

class Messages {
public:
    explicit Messages(std::span<const Message> ms) {
        v_.reserve(ms.size());
        for (const Message &m : ms) v_.push_back(m.native());
    }
    explicit Messages(std::span<const Message *const> ms) {
        v_.reserve(ms.size());
        for (const Message *m : ms) v_.push_back(m ? m->native() : nullptr);
    }
    const bc_message *const *data() const noexcept { return v_.data(); }
    size_t size() const noexcept { return v_.size(); }

private:
    std::vector<const bc_message *> v_;
};

inline int32_t tx_trampoline(void *ud, const bc_transaction_check *c) noexcept {
    TransactionCheck check(c);
    return static_cast<int32_t>((*static_cast<TransactionCheckHandler *>(ud))(check));
}
inline void delete_tx_handler(void *ud) noexcept { delete static_cast<TransactionCheckHandler *>(ud); }
inline void notify_trampoline(void *ud, const char *group) noexcept {
    (*static_cast<NotifyHandler *>(ud))(std::string_view(group));
}
inline void delete_notify_handler(void *ud) noexcept { delete static_cast<NotifyHandler *>(ud); }
inline void stats_trampoline(void *ud, const char *json) noexcept {
    (*static_cast<StatsHandler *>(ud))(std::string_view(json));
}
inline void delete_stats_handler(void *ud) noexcept { delete static_cast<StatsHandler *>(ud); }

}  // namespace detail

// ------------------------------------------------------------------------------------------
// Client
// ------------------------------------------------------------------------------------------

/// A client of one broker or name server ("host:port"). It connects on connect() or on its
/// first operation, and again after a lost connection. Thread-safe: any method from any
/// thread (calls racing with close() fail with BC_ERR_CLOSED), except that destruction must
/// be the last use. Destroying it cancels
/// operations in flight (their callbacks still run once, with BC_ERR_CANCELLED) and removes
/// the transaction-check handler. Move-only.
///
/// Every operation has a blocking form (returns the value or throws Error; throws
/// BC_ERR_WOULD_DEADLOCK on a library thread) and an _async form taking a callable (see the
/// top of this file: exactly once, library thread or Queue::dispatch, throwing terminates on
/// a library thread).
class Client {
public:
    /// A client whose callbacks run on library threads.
    explicit Client(std::string_view addr, const Config *config = nullptr) : Client(addr, config, nullptr) {}
    /// A client whose callbacks run inside `queue.dispatch()`.
    Client(std::string_view addr, const Queue &queue, const Config *config = nullptr)
        : Client(addr, config, &queue) {}

    Client(Client &&) noexcept = default;
    /// Frees the client held so far before releasing its queue.
    Client &operator=(Client &&other) noexcept {
        if (this != &other) {
            h_ = std::move(other.h_);
            queue_ = std::move(other.queue_);
        }
        return *this;
    }
    Client(const Client &) = delete;
    Client &operator=(const Client &) = delete;

    // ---- connection --------------------------------------------------------------------

    /// Connects now (operations also connect on demand).
    void connect() const {
        detail::call([&](bc_error **e) { return bc_client_connect(h_.get(), e); });
    }
    template <CallbackFor<void> F>
    void connect_async(F &&cb) const {
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_connect_async(h_.get(), tramp, ud, e);
        });
    }
    bool is_connected() const noexcept { return bc_client_is_connected(h_.get()); }
    /// This client's id ("ip@instance", as the broker sees it); settled by the first
    /// connection, so ask after connecting.
    std::string client_id() const {
        return detail::call_string([&](char **s, bc_error **e) { return bc_client_get_client_id(h_.get(), s, e); });
    }
    /// Statistics as JSON (counters per operation and outcome, traffic, connections, latency
    /// percentiles of the last minute; see bc_client_stats_json). Never blocks.
    std::string stats_json() const {
        return detail::call_string([&](char **s, bc_error **e) { return bc_client_stats_json(h_.get(), s, e); });
    }
    /// The same client with another deadline for each operation (`timeout_ms` > 0): a new
    /// handle sharing this one's connection (or manager pool), queue and admission limit, with
    /// its own operations (closing or destroying it cancels only those). It cannot install a
    /// transaction-check handler. Destroy it before or after this one (if this one goes
    /// first, its operations fail with BC_ERR_CONNECTION).
    Client with_timeout(int32_t timeout_ms) const {
        bc_client *c = nullptr;
        detail::call([&](bc_error **e) { return bc_client_with_timeout(h_.get(), timeout_ms, &c, e); });
        return Client(c, queue_);
    }
    /// Drops the current connection (requests on it fail with BC_ERR_CONNECTION); the next
    /// operation reconnects.
    void disconnect() const noexcept { bc_client_disconnect(h_.get()); }

    /// Refuses new operations (BC_ERR_CLOSED), lets those in flight finish for up to
    /// `timeout_ms` (<= 0: none), cancels the rest; returns once every accepted operation
    /// completed (with a Queue: was queued). Closing twice is harmless.
    void close(int32_t timeout_ms) {
        detail::call([&](bc_error **e) { return bc_client_close(h_.get(), timeout_ms, e); });
    }

    // ---- sending -----------------------------------------------------------------------

    /// Sends and waits until stored. `queue_id` negative: the broker picks.
    SendResult send(std::string_view producer_group, const Message &message, int32_t queue_id = -1) const {
        detail::CStr g(producer_group, "producer_group");
        bc_send_result *r = nullptr;
        detail::call([&](bc_error **e) {
            return bc_client_send(h_.get(), g.get(), queue_id, message.native(), &r, e);
        });
        return SendResult::take(r);
    }
    /// Async send: the message is copied before this returns.
    template <CallbackFor<SendResult> F>
    void send_async(std::string_view producer_group, const Message &message, int32_t queue_id, F &&cb) const {
        detail::CStr g(producer_group, "producer_group");
        detail::start_async<detail::SendKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_send_async(h_.get(), g.get(), queue_id, message.native(), tramp, ud, e);
        });
    }
    /// Async send, cancelled by `token` (BC_ERR_CANCELLED; the message may have been stored).
    template <CallbackFor<SendResult> F>
    void send_async(std::string_view producer_group, const Message &message, int32_t queue_id,
                    const CancelToken &token, F &&cb) const {
        detail::CStr g(producer_group, "producer_group");
        detail::start_async<detail::SendKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_send_async_with_cancel(h_.get(), g.get(), queue_id, message.native(),
                                                    token.native(), tramp, ud, e);
        });
    }
    /// Sends without waiting for the broker (returns once queued for writing).
    void send_oneway(std::string_view producer_group, const Message &message, int32_t queue_id = -1) const {
        detail::CStr g(producer_group, "producer_group");
        detail::call([&](bc_error **e) {
            return bc_client_send_oneway(h_.get(), g.get(), queue_id, message.native(), e);
        });
    }
    /// Async oneway send: `cb` runs once the message is queued for writing.
    template <CallbackFor<void> F>
    void send_oneway_async(std::string_view producer_group, const Message &message, int32_t queue_id, F &&cb) const {
        detail::CStr g(producer_group, "producer_group");
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_send_oneway_async(h_.get(), g.get(), queue_id, message.native(), tramp, ud, e);
        });
    }

    /// Sends messages of one topic as one batch to `queue_id`, stored in order. The overloads
    /// take the messages themselves (std::vector<Message>, an array) or pointers to them.
    SendResult send_batch(std::string_view producer_group, std::span<const Message> messages,
                          int32_t queue_id = -1) const {
        return send_batch_impl(producer_group, detail::Messages(messages), queue_id);
    }
    SendResult send_batch(std::string_view producer_group, std::span<const Message *const> messages,
                          int32_t queue_id = -1) const {
        return send_batch_impl(producer_group, detail::Messages(messages), queue_id);
    }
    template <CallbackFor<SendResult> F>
    void send_batch_async(std::string_view producer_group, std::span<const Message> messages, int32_t queue_id,
                          F &&cb) const {
        send_batch_async_impl(producer_group, detail::Messages(messages), queue_id, std::forward<F>(cb));
    }
    template <CallbackFor<SendResult> F>
    void send_batch_async(std::string_view producer_group, std::span<const Message *const> messages,
                          int32_t queue_id, F &&cb) const {
        send_batch_async_impl(producer_group, detail::Messages(messages), queue_id, std::forward<F>(cb));
    }
    void send_batch_oneway(std::string_view producer_group, std::span<const Message> messages,
                           int32_t queue_id = -1) const {
        send_batch_oneway_impl(producer_group, detail::Messages(messages), queue_id);
    }
    void send_batch_oneway(std::string_view producer_group, std::span<const Message *const> messages,
                           int32_t queue_id = -1) const {
        send_batch_oneway_impl(producer_group, detail::Messages(messages), queue_id);
    }
    template <CallbackFor<void> F>
    void send_batch_oneway_async(std::string_view producer_group, std::span<const Message> messages,
                                 int32_t queue_id, F &&cb) const {
        send_batch_oneway_async_impl(producer_group, detail::Messages(messages), queue_id, std::forward<F>(cb));
    }
    template <CallbackFor<void> F>
    void send_batch_oneway_async(std::string_view producer_group, std::span<const Message *const> messages,
                                 int32_t queue_id, F &&cb) const {
        send_batch_oneway_async_impl(producer_group, detail::Messages(messages), queue_id, std::forward<F>(cb));
    }

    // ---- pulling -----------------------------------------------------------------------

    /// Pulls up to `max_messages` from `offset`. `suspend_timeout_ms > 0` long-polls (the
    /// broker holds the pull that long while nothing is there). `subscription` is a tag
    /// expression ("*", "a || b"; empty: "*").
    Batch pull(std::string_view consumer_group, std::string_view topic, int32_t queue_id, int64_t offset,
               int32_t max_messages = 32, int32_t suspend_timeout_ms = 0,
               std::string_view subscription = "*") const {
        detail::CStr g(consumer_group, "consumer_group"), t(topic, "topic");
        detail::OptCStr s(subscription, "subscription");
        bc_batch *b = nullptr;
        detail::call([&](bc_error **e) {
            return bc_client_pull(h_.get(), g.get(), t.get(), queue_id, offset, max_messages, suspend_timeout_ms,
                                  s.get(), &b, e);
        });
        return Batch(b);
    }
    /// Async pull; the callback's Result<Batch> owns the batch.
    template <CallbackFor<Batch> F>
    void pull_async(std::string_view consumer_group, std::string_view topic, int32_t queue_id, int64_t offset,
                    int32_t max_messages, int32_t suspend_timeout_ms, std::string_view subscription, F &&cb) const {
        detail::CStr g(consumer_group, "consumer_group"), t(topic, "topic");
        detail::OptCStr s(subscription, "subscription");
        detail::start_async<detail::PullKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_pull_async(h_.get(), g.get(), t.get(), queue_id, offset, max_messages,
                                        suspend_timeout_ms, s.get(), tramp, ud, e);
        });
    }
    /// Async pull cancelled by `token`: a pull still waiting (a long poll) ends at once with
    /// BC_ERR_CANCELLED.
    template <CallbackFor<Batch> F>
    void pull_async(std::string_view consumer_group, std::string_view topic, int32_t queue_id, int64_t offset,
                    int32_t max_messages, int32_t suspend_timeout_ms, std::string_view subscription,
                    const CancelToken &token, F &&cb) const {
        detail::CStr g(consumer_group, "consumer_group"), t(topic, "topic");
        detail::OptCStr s(subscription, "subscription");
        detail::start_async<detail::PullKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_pull_async_with_cancel(h_.get(), g.get(), t.get(), queue_id, offset, max_messages,
                                                    suspend_timeout_ms, s.get(), token.native(), tramp, ud, e);
        });
    }

    /// Pulls as `request` describes (expression type, long polling, offset commit, ...).
    Batch pull(const PullRequest &request) const {
        bc_batch *b = nullptr;
        detail::call([&](bc_error **e) { return bc_client_pull_request(h_.get(), request.native(), &b, e); });
        return Batch(b);
    }
    template <CallbackFor<Batch> F>
    void pull_async(const PullRequest &request, F &&cb) const {
        detail::start_async<detail::PullKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_pull_request_async(h_.get(), request.native(), nullptr, tramp, ud, e);
        });
    }
    template <CallbackFor<Batch> F>
    void pull_async(const PullRequest &request, const CancelToken &token, F &&cb) const {
        detail::start_async<detail::PullKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_pull_request_async(h_.get(), request.native(), token.native(), tramp, ud, e);
        });
    }

    /// The stored message with this offset message id (SendResult::offset_msg_id,
    /// MessageView::offset_msg_id), as a batch of one.
    Batch view_message(std::string_view offset_msg_id) const {
        detail::CStr id(offset_msg_id, "offset_msg_id");
        bc_batch *b = nullptr;
        detail::call([&](bc_error **e) { return bc_client_view_message(h_.get(), id.get(), &b, e); });
        return Batch(b);
    }
    template <CallbackFor<Batch> F>
    void view_message_async(std::string_view offset_msg_id, F &&cb) const {
        detail::CStr id(offset_msg_id, "offset_msg_id");
        detail::start_async<detail::PullKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_view_message_async(h_.get(), id.get(), tramp, ud, e);
        });
    }

    /// Hands message `index` of a pulled `batch` back for redelivery to `consumer_group` after
    /// `delay_level` (0: the broker chooses; negative: straight to the dead-letter queue);
    /// `max_reconsume_times` negative: the broker's default.
    void consumer_send_back(std::string_view consumer_group, const Batch &batch, size_t index,
                            int32_t delay_level = 0, int32_t max_reconsume_times = -1) const {
        detail::CStr g(consumer_group, "consumer_group");
        detail::call([&](bc_error **e) {
            return bc_client_consumer_send_back(h_.get(), g.get(), batch.native(), index, delay_level,
                                                max_reconsume_times, e);
        });
    }
    /// Async send-back: the message's identity is copied before this returns (the batch may
    /// be destroyed at once).
    template <CallbackFor<void> F>
    void consumer_send_back_async(std::string_view consumer_group, const Batch &batch, size_t index,
                                  int32_t delay_level, int32_t max_reconsume_times, F &&cb) const {
        detail::CStr g(consumer_group, "consumer_group");
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_consumer_send_back_async(h_.get(), g.get(), batch.native(), index, delay_level,
                                                      max_reconsume_times, tramp, ud, e);
        });
    }

    // ---- offsets and times -------------------------------------------------------------

    /// The next offset to be written in a queue (0 for a topic or queue the broker lacks).
    int64_t get_max_offset(std::string_view topic, int32_t queue_id) const {
        detail::CStr t(topic, "topic");
        return detail::call_int64([&](int64_t *v, bc_error **e) {
            return bc_client_get_max_offset(h_.get(), t.get(), queue_id, v, e);
        });
    }
    template <CallbackFor<int64_t> F>
    void get_max_offset_async(std::string_view topic, int32_t queue_id, F &&cb) const {
        detail::CStr t(topic, "topic");
        detail::start_async<detail::Int64Kind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_get_max_offset_async(h_.get(), t.get(), queue_id, tramp, ud, e);
        });
    }
    /// The smallest offset still stored in a queue.
    int64_t get_min_offset(std::string_view topic, int32_t queue_id) const {
        detail::CStr t(topic, "topic");
        return detail::call_int64([&](int64_t *v, bc_error **e) {
            return bc_client_get_min_offset(h_.get(), t.get(), queue_id, v, e);
        });
    }
    template <CallbackFor<int64_t> F>
    void get_min_offset_async(std::string_view topic, int32_t queue_id, F &&cb) const {
        detail::CStr t(topic, "topic");
        detail::start_async<detail::Int64Kind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_get_min_offset_async(h_.get(), t.get(), queue_id, tramp, ud, e);
        });
    }
    /// The store time (ms since the epoch) of the oldest message in a queue.
    int64_t get_earliest_msg_store_time(std::string_view topic, int32_t queue_id) const {
        detail::CStr t(topic, "topic");
        return detail::call_int64([&](int64_t *v, bc_error **e) {
            return bc_client_get_earliest_msg_store_time(h_.get(), t.get(), queue_id, v, e);
        });
    }
    template <CallbackFor<int64_t> F>
    void get_earliest_msg_store_time_async(std::string_view topic, int32_t queue_id, F &&cb) const {
        detail::CStr t(topic, "topic");
        detail::start_async<detail::Int64Kind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_get_earliest_msg_store_time_async(h_.get(), t.get(), queue_id, tramp, ud, e);
        });
    }
    /// The first offset stored at or after `timestamp_ms`; `upper`: the last of several
    /// messages stored at that time.
    int64_t search_offset_by_timestamp(std::string_view topic, int32_t queue_id, int64_t timestamp_ms,
                                       bool upper = false) const {
        detail::CStr t(topic, "topic");
        return detail::call_int64([&](int64_t *v, bc_error **e) {
            return bc_client_search_offset_by_timestamp(h_.get(), t.get(), queue_id, timestamp_ms, upper ? 1 : 0, v,
                                                        e);
        });
    }
    template <CallbackFor<int64_t> F>
    void search_offset_by_timestamp_async(std::string_view topic, int32_t queue_id, int64_t timestamp_ms, bool upper,
                                          F &&cb) const {
        detail::CStr t(topic, "topic");
        detail::start_async<detail::Int64Kind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_search_offset_by_timestamp_async(h_.get(), t.get(), queue_id, timestamp_ms,
                                                              upper ? 1 : 0, tramp, ud, e);
        });
    }
    /// The committed offset of `consumer_group` on a queue; throws BC_ERR_OFFSET when none.
    int64_t query_consumer_offset(std::string_view consumer_group, std::string_view topic, int32_t queue_id) const {
        detail::CStr g(consumer_group, "consumer_group"), t(topic, "topic");
        return detail::call_int64([&](int64_t *v, bc_error **e) {
            return bc_client_query_consumer_offset(h_.get(), g.get(), t.get(), queue_id, v, e);
        });
    }
    template <CallbackFor<int64_t> F>
    void query_consumer_offset_async(std::string_view consumer_group, std::string_view topic, int32_t queue_id,
                                     F &&cb) const {
        detail::CStr g(consumer_group, "consumer_group"), t(topic, "topic");
        detail::start_async<detail::Int64Kind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_query_consumer_offset_async(h_.get(), g.get(), t.get(), queue_id, tramp, ud, e);
        });
    }
    /// Commits `offset` for `consumer_group` (the broker must know the group: heartbeat or
    /// pull first).
    void update_consumer_offset(std::string_view consumer_group, std::string_view topic, int32_t queue_id,
                                int64_t offset) const {
        detail::CStr g(consumer_group, "consumer_group"), t(topic, "topic");
        detail::call([&](bc_error **e) {
            return bc_client_update_consumer_offset(h_.get(), g.get(), t.get(), queue_id, offset, e);
        });
    }
    template <CallbackFor<void> F>
    void update_consumer_offset_async(std::string_view consumer_group, std::string_view topic, int32_t queue_id,
                                      int64_t offset, F &&cb) const {
        detail::CStr g(consumer_group, "consumer_group"), t(topic, "topic");
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_update_consumer_offset_async(h_.get(), g.get(), t.get(), queue_id, offset, tramp, ud,
                                                          e);
        });
    }
    /// Commits an offset without waiting for the broker.
    void update_consumer_offset_oneway(std::string_view consumer_group, std::string_view topic, int32_t queue_id,
                                       int64_t offset) const {
        detail::CStr g(consumer_group, "consumer_group"), t(topic, "topic");
        detail::call([&](bc_error **e) {
            return bc_client_update_consumer_offset_oneway(h_.get(), g.get(), t.get(), queue_id, offset, e);
        });
    }
    template <CallbackFor<void> F>
    void update_consumer_offset_oneway_async(std::string_view consumer_group, std::string_view topic,
                                             int32_t queue_id, int64_t offset, F &&cb) const {
        detail::CStr g(consumer_group, "consumer_group"), t(topic, "topic");
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_update_consumer_offset_oneway_async(h_.get(), g.get(), t.get(), queue_id, offset,
                                                                 tramp, ud, e);
        });
    }

    // ---- admin, membership, name-server queries ----------------------------------------

    /// Creates (or updates) `topic` with `queue_nums` read and write queues.
    void create_topic(std::string_view topic, int32_t queue_nums) const {
        detail::CStr t(topic, "topic");
        detail::call([&](bc_error **e) { return bc_client_create_topic(h_.get(), t.get(), queue_nums, e); });
    }
    template <CallbackFor<void> F>
    void create_topic_async(std::string_view topic, int32_t queue_nums, F &&cb) const {
        detail::CStr t(topic, "topic");
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_create_topic_async(h_.get(), t.get(), queue_nums, tramp, ud, e);
        });
    }
    /// Registers a producer group and/or a consumer group (empty: none; not both empty).
    void heartbeat(std::string_view producer_group, std::string_view consumer_group) const {
        detail::OptCStr p(producer_group, "producer_group"), c(consumer_group, "consumer_group");
        detail::call([&](bc_error **e) { return bc_client_heartbeat(h_.get(), p.get(), c.get(), e); });
    }
    template <CallbackFor<void> F>
    void heartbeat_async(std::string_view producer_group, std::string_view consumer_group, F &&cb) const {
        detail::OptCStr p(producer_group, "producer_group"), c(consumer_group, "consumer_group");
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_heartbeat_async(h_.get(), p.get(), c.get(), tramp, ud, e);
        });
    }
    /// Sends a heartbeat with data (groups, modes, subscriptions).
    void send_heartbeat(const Heartbeat &heartbeat) const {
        detail::call([&](bc_error **e) { return bc_client_send_heartbeat(h_.get(), heartbeat.native(), e); });
    }
    template <CallbackFor<void> F>
    void send_heartbeat_async(const Heartbeat &heartbeat, F &&cb) const {
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_send_heartbeat_async(h_.get(), heartbeat.native(), tramp, ud, e);
        });
    }
    /// Leaves a producer group and/or a consumer group (empty: none).
    void unregister(std::string_view producer_group, std::string_view consumer_group) const {
        detail::OptCStr p(producer_group, "producer_group"), c(consumer_group, "consumer_group");
        detail::call([&](bc_error **e) { return bc_client_unregister(h_.get(), p.get(), c.get(), e); });
    }
    template <CallbackFor<void> F>
    void unregister_async(std::string_view producer_group, std::string_view consumer_group, F &&cb) const {
        detail::OptCStr p(producer_group, "producer_group"), c(consumer_group, "consumer_group");
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_unregister_async(h_.get(), p.get(), c.get(), tramp, ud, e);
        });
    }
    /// The route of `topic` as JSON (TopicRouteData); ask a name server. Unknown topic:
    /// Error BC_ERR_BROKER_RESPONSE with response_code() 17.
    std::string get_route_info(std::string_view topic) const {
        detail::CStr t(topic, "topic");
        return detail::call_string([&](char **s, bc_error **e) { return bc_client_get_route_info(h_.get(), t.get(), s, e); });
    }
    template <CallbackFor<std::string> F>
    void get_route_info_async(std::string_view topic, F &&cb) const {
        detail::CStr t(topic, "topic");
        detail::start_async<detail::TextKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_get_route_info_async(h_.get(), t.get(), tramp, ud, e);
        });
    }
    /// Every cluster and broker the name server knows, as JSON (ClusterInfo).
    std::string get_cluster_info() const {
        return detail::call_string([&](char **s, bc_error **e) { return bc_client_get_cluster_info(h_.get(), s, e); });
    }
    template <CallbackFor<std::string> F>
    void get_cluster_info_async(F &&cb) const {
        detail::start_async<detail::TextKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_get_cluster_info_async(h_.get(), tramp, ud, e);
        });
    }
    /// The client ids of a consumer group's live members, as a JSON array of strings.
    std::string get_consumer_list(std::string_view consumer_group) const {
        detail::CStr g(consumer_group, "consumer_group");
        return detail::call_string([&](char **s, bc_error **e) {
            return bc_client_get_consumer_list(h_.get(), g.get(), s, e);
        });
    }
    template <CallbackFor<std::string> F>
    void get_consumer_list_async(std::string_view consumer_group, F &&cb) const {
        detail::CStr g(consumer_group, "consumer_group");
        detail::start_async<detail::TextKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_get_consumer_list_async(h_.get(), g.get(), tramp, ud, e);
        });
    }

    // ---- ordered consumption: queue locks ----------------------------------------------

    /// Locks queues of `consumer_group` for this client. `mq_json`: a JSON array of
    /// {"topic", "brokerName", "queueId"} (message_queues_json builds it); returns the array
    /// of those now locked by this client.
    std::string lock_batch_mq(std::string_view consumer_group, std::string_view mq_json) const {
        detail::CStr g(consumer_group, "consumer_group"), q(mq_json, "mq_json");
        return detail::call_string([&](char **s, bc_error **e) {
            return bc_client_lock_batch_mq(h_.get(), g.get(), q.get(), s, e);
        });
    }
    template <CallbackFor<std::string> F>
    void lock_batch_mq_async(std::string_view consumer_group, std::string_view mq_json, F &&cb) const {
        detail::CStr g(consumer_group, "consumer_group"), q(mq_json, "mq_json");
        detail::start_async<detail::TextKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_lock_batch_mq_async(h_.get(), g.get(), q.get(), tramp, ud, e);
        });
    }
    /// Releases locks this client holds (unlocking a queue not held changes nothing).
    void unlock_batch_mq(std::string_view consumer_group, std::string_view mq_json) const {
        detail::CStr g(consumer_group, "consumer_group"), q(mq_json, "mq_json");
        detail::call([&](bc_error **e) { return bc_client_unlock_batch_mq(h_.get(), g.get(), q.get(), e); });
    }
    template <CallbackFor<void> F>
    void unlock_batch_mq_async(std::string_view consumer_group, std::string_view mq_json, F &&cb) const {
        detail::CStr g(consumer_group, "consumer_group"), q(mq_json, "mq_json");
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_unlock_batch_mq_async(h_.get(), g.get(), q.get(), tramp, ud, e);
        });
    }

    // ---- transactions ------------------------------------------------------------------

    /// Ends a half message: `msg_id`, `offset_msg_id`, `queue_offset` and `transaction_id`
    /// (empty: left out) are what its send returned. Oneway: completes once written.
    void end_transaction(std::string_view producer_group, std::string_view msg_id, std::string_view offset_msg_id,
                         int64_t queue_offset, std::string_view transaction_id, TransactionState state) const {
        detail::CStr g(producer_group, "producer_group"), m(msg_id, "msg_id"), o(offset_msg_id, "offset_msg_id");
        detail::OptCStr t(transaction_id, "transaction_id");
        detail::call([&](bc_error **e) {
            return bc_client_end_transaction(h_.get(), g.get(), m.get(), o.get(), queue_offset, t.get(),
                                             static_cast<int32_t>(state), e);
        });
    }
    /// Ends the half message whose send returned `sent`.
    void end_transaction(std::string_view producer_group, const SendResult &sent, TransactionState state) const {
        end_transaction(producer_group, sent.msg_id, sent.offset_msg_id, sent.queue_offset, sent.transaction_id,
                        state);
    }
    template <CallbackFor<void> F>
    void end_transaction_async(std::string_view producer_group, std::string_view msg_id,
                               std::string_view offset_msg_id, int64_t queue_offset,
                               std::string_view transaction_id, TransactionState state, F &&cb) const {
        detail::CStr g(producer_group, "producer_group"), m(msg_id, "msg_id"), o(offset_msg_id, "offset_msg_id");
        detail::OptCStr t(transaction_id, "transaction_id");
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_end_transaction_async(h_.get(), g.get(), m.get(), o.get(), queue_offset, t.get(),
                                                   static_cast<int32_t>(state), tramp, ud, e);
        });
    }
    template <CallbackFor<void> F>
    void end_transaction_async(std::string_view producer_group, const SendResult &sent, TransactionState state,
                               F &&cb) const {
        end_transaction_async(producer_group, sent.msg_id, sent.offset_msg_id, sent.queue_offset, sent.transaction_id,
                              state, std::forward<F>(cb));
    }

    /// Installs the handler answering the broker's transaction checks for half messages this
    /// client's producer groups sent (heartbeat the group so the broker knows where to ask);
    /// replaces any previous one; an empty function removes it. The library owns the copy and
    /// destroys it once replaced, removed or the client destroyed (after a check running then
    /// has returned). See TransactionCheckHandler for where it runs.
    void set_transaction_check_handler(TransactionCheckHandler handler) const {
        if (!handler) {
            detail::call([&](bc_error **e) {
                return bc_client_set_transaction_check_cb(h_.get(), nullptr, nullptr, nullptr, e);
            });
            return;
        }
        auto holder = std::make_unique<TransactionCheckHandler>(std::move(handler));
        detail::call([&](bc_error **e) {
            return bc_client_set_transaction_check_cb(h_.get(), &detail::tx_trampoline, holder.get(),
                                                      &detail::delete_tx_handler, e);
        });
        holder.release();  // the library frees it with delete_tx_handler
    }
    void clear_transaction_check_handler() const { set_transaction_check_handler(nullptr); }

    /// Installs the handler told when a consumer group this client registered changes
    /// members; replaces any previous one (a notice queued for it and not yet dispatched is
    /// dropped); an empty function removes it. The library owns the copy and destroys it once
    /// replaced, removed or the client destroyed. See NotifyHandler for where it runs.
    void set_notify_handler(NotifyHandler handler) const {
        if (!handler) {
            detail::call([&](bc_error **e) { return bc_client_set_notify_cb(h_.get(), nullptr, nullptr, nullptr, e); });
            return;
        }
        auto holder = std::make_unique<NotifyHandler>(std::move(handler));
        detail::call([&](bc_error **e) {
            return bc_client_set_notify_cb(h_.get(), &detail::notify_trampoline, holder.get(),
                                           &detail::delete_notify_handler, e);
        });
        holder.release();  // the library frees it with delete_notify_handler
    }
    void clear_notify_handler() const { set_notify_handler(nullptr); }

    /// Installs the handler receiving this client's statistics every `interval_ms` (> 0);
    /// replaces any previous one; an empty function removes it. The library owns the copy and
    /// destroys it once replaced, removed or the client destroyed. See StatsHandler.
    void set_stats_handler(int32_t interval_ms, StatsHandler handler) const {
        if (!handler) {
            detail::call([&](bc_error **e) { return bc_client_set_stats_cb(h_.get(), 0, nullptr, nullptr, nullptr, e); });
            return;
        }
        auto holder = std::make_unique<StatsHandler>(std::move(handler));
        detail::call([&](bc_error **e) {
            return bc_client_set_stats_cb(h_.get(), interval_ms, &detail::stats_trampoline, holder.get(),
                                          &detail::delete_stats_handler, e);
        });
        holder.release();  // the library frees it with delete_stats_handler
    }
    void clear_stats_handler() const { set_stats_handler(0, nullptr); }

    const bc_client *native() const noexcept { return h_.get(); }

private:
    friend class Manager;
    /// Takes `c` (from bc_client_with_timeout, bc_manager_client), completing through `queue`.
    Client(bc_client *c, std::shared_ptr<detail::QueueState> queue) noexcept : queue_(std::move(queue)), h_(c) {}
    Client(std::string_view addr, const Config *config, const Queue *queue) {
        detail::CStr a(addr, "addr");
        if (queue) queue_ = queue->s_;
        bc_client *c = nullptr;
        detail::call([&](bc_error **e) {
            return bc_client_new(a.get(), config ? config->native() : nullptr, queue ? queue->native() : nullptr, &c, e);
        });
        h_.reset(c);
    }

    SendResult send_batch_impl(std::string_view producer_group, const detail::Messages &m, int32_t queue_id) const {
        detail::CStr g(producer_group, "producer_group");
        bc_send_result *r = nullptr;
        detail::call([&](bc_error **e) {
            return bc_client_send_batch(h_.get(), g.get(), queue_id, m.data(), m.size(), &r, e);
        });
        return SendResult::take(r);
    }
    template <class F>
    void send_batch_async_impl(std::string_view producer_group, const detail::Messages &m, int32_t queue_id,
                               F &&cb) const {
        detail::CStr g(producer_group, "producer_group");
        detail::start_async<detail::SendKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_send_batch_async(h_.get(), g.get(), queue_id, m.data(), m.size(), tramp, ud, e);
        });
    }
    void send_batch_oneway_impl(std::string_view producer_group, const detail::Messages &m, int32_t queue_id) const {
        detail::CStr g(producer_group, "producer_group");
        detail::call([&](bc_error **e) {
            return bc_client_send_batch_oneway(h_.get(), g.get(), queue_id, m.data(), m.size(), e);
        });
    }
    template <class F>
    void send_batch_oneway_async_impl(std::string_view producer_group, const detail::Messages &m, int32_t queue_id,
                                      F &&cb) const {
        detail::CStr g(producer_group, "producer_group");
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_client_send_batch_oneway_async(h_.get(), g.get(), queue_id, m.data(), m.size(), tramp, ud, e);
        });
    }

    // Declared first so it is released last: the client's completions reach the queue before
    // the queue may be freed.
    std::shared_ptr<detail::QueueState> queue_;
    detail::Handle<bc_client, bc_client_free> h_;
};

// ------------------------------------------------------------------------------------------
// Manager
// ------------------------------------------------------------------------------------------

/// A broker's health in a Manager.
enum class BrokerState : int32_t {
    Unknown = -1,  ///< not a broker the manager knows (or a closed manager)
    Healthy = 0,
    Suspect = 1,  ///< recent failures
    Down = 2,     ///< failing at once until a probe succeeds
};

/// A manager of many brokers: a pool of connections per broker, health tracking with probes,
/// and (with name servers) discovery and route-aware sends. Brokers are named by address or,
/// with name servers, by broker name. Thread-safety, destruction and async callbacks as for
/// Client. Move-only.
class Manager {
public:
    /// A manager with no brokers (add_broker), callbacks on library threads.
    explicit Manager(const Config *config = nullptr) : Manager(nullptr, config, nullptr) {}
    /// A manager with no brokers, callbacks inside `queue.dispatch()`.
    explicit Manager(const Queue &queue, const Config *config = nullptr) : Manager(nullptr, config, &queue) {}
    /// A manager that discovers its brokers from `name_servers` ("a:9876;b:9876") on start()
    /// and follows their routes.
    static Manager from_name_servers(std::string_view name_servers, const Config *config = nullptr) {
        detail::CStr ns(name_servers, "name_servers");
        return Manager(&ns, config, nullptr);
    }
    static Manager from_name_servers(std::string_view name_servers, const Queue &queue,
                                     const Config *config = nullptr) {
        detail::CStr ns(name_servers, "name_servers");
        return Manager(&ns, config, &queue);
    }

    Manager(Manager &&) noexcept = default;
    /// Frees the manager held so far before releasing its queue.
    Manager &operator=(Manager &&other) noexcept {
        if (this != &other) {
            h_ = std::move(other.h_);
            queue_ = std::move(other.queue_);
        }
        return *this;
    }
    Manager(const Manager &) = delete;
    Manager &operator=(const Manager &) = delete;

    /// Starts health probes and (with name servers) route refresh, discovering the brokers
    /// once before returning. Starting twice is harmless.
    void start() const {
        detail::call([&](bc_error **e) { return bc_manager_start(h_.get(), e); });
    }
    template <CallbackFor<void> F>
    void start_async(F &&cb) const {
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_start_async(h_.get(), tramp, ud, e);
        });
    }
    /// The same manager with another deadline for each operation (`timeout_ms` > 0): a new
    /// handle sharing this one's brokers, pools, queue and admission limit, with its own
    /// operations (closing or destroying it cancels only those; it never shuts the manager
    /// down). Once this manager is destroyed, its operations fail with BC_ERR_SHUTDOWN.
    Manager with_timeout(int32_t timeout_ms) const {
        bc_manager *m = nullptr;
        detail::call([&](bc_error **e) { return bc_manager_with_timeout(h_.get(), timeout_ms, &m, e); });
        return Manager(m, queue_);
    }
    /// A Client on this manager's pool for one broker (address or known name): every Client
    /// operation through the pool, counting towards the broker's health; completions through
    /// this manager's queue, with its deadline and admission limit. disconnect() does nothing
    /// on it and it cannot install a transaction-check handler. Destroy it in any order with
    /// the manager (once the manager is shut down its operations fail with BC_ERR_SHUTDOWN).
    Client client(std::string_view broker) const {
        detail::CStr b(broker, "broker");
        bc_client *c = nullptr;
        detail::call([&](bc_error **e) { return bc_manager_client(h_.get(), b.get(), &c, e); });
        return Client(c, queue_);
    }
    /// As Client::close, then shuts the connections down.
    void close(int32_t timeout_ms) {
        detail::call([&](bc_error **e) { return bc_manager_close(h_.get(), timeout_ms, e); });
    }

    /// Adds a broker by address or (with name servers) by name; returns its address.
    std::string add_broker(std::string_view name_or_addr) const {
        detail::CStr n(name_or_addr, "name_or_addr");
        return detail::call_string([&](char **s, bc_error **e) { return bc_manager_add_broker(h_.get(), n.get(), s, e); });
    }
    template <CallbackFor<std::string> F>
    void add_broker_async(std::string_view name_or_addr, F &&cb) const {
        detail::CStr n(name_or_addr, "name_or_addr");
        detail::start_async<detail::TextKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_add_broker_async(h_.get(), n.get(), tramp, ud, e);
        });
    }
    /// Removes the broker at `addr` after letting its requests finish for up to `drain_ms`.
    void remove_broker(std::string_view addr, int32_t drain_ms) const {
        detail::CStr a(addr, "addr");
        detail::call([&](bc_error **e) { return bc_manager_remove_broker(h_.get(), a.get(), drain_ms, e); });
    }
    template <CallbackFor<void> F>
    void remove_broker_async(std::string_view addr, int32_t drain_ms, F &&cb) const {
        detail::CStr a(addr, "addr");
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_remove_broker_async(h_.get(), a.get(), drain_ms, tramp, ud, e);
        });
    }

    /// Sends to the message's topic, route-aware (a writable queue round robin; a retriable
    /// failure retried on another broker within one request timeout).
    SendResult send(std::string_view producer_group, const Message &message) const {
        detail::CStr g(producer_group, "producer_group");
        bc_send_result *r = nullptr;
        detail::call([&](bc_error **e) { return bc_manager_send(h_.get(), g.get(), message.native(), &r, e); });
        return SendResult::take(r);
    }
    template <CallbackFor<SendResult> F>
    void send_async(std::string_view producer_group, const Message &message, F &&cb) const {
        detail::CStr g(producer_group, "producer_group");
        detail::start_async<detail::SendKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_send_async(h_.get(), g.get(), message.native(), tramp, ud, e);
        });
    }
    template <CallbackFor<SendResult> F>
    void send_async(std::string_view producer_group, const Message &message, const CancelToken &token, F &&cb) const {
        detail::CStr g(producer_group, "producer_group");
        detail::start_async<detail::SendKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_send_async_with_cancel(h_.get(), g.get(), message.native(), token.native(), tramp, ud,
                                                     e);
        });
    }
    /// Sends messages of one topic as one batch (one queue, stored in order).
    SendResult send_batch(std::string_view producer_group, std::span<const Message> messages) const {
        return send_batch_impl(producer_group, detail::Messages(messages));
    }
    SendResult send_batch(std::string_view producer_group, std::span<const Message *const> messages) const {
        return send_batch_impl(producer_group, detail::Messages(messages));
    }
    template <CallbackFor<SendResult> F>
    void send_batch_async(std::string_view producer_group, std::span<const Message> messages, F &&cb) const {
        send_batch_async_impl(producer_group, detail::Messages(messages), std::forward<F>(cb));
    }
    template <CallbackFor<SendResult> F>
    void send_batch_async(std::string_view producer_group, std::span<const Message *const> messages, F &&cb) const {
        send_batch_async_impl(producer_group, detail::Messages(messages), std::forward<F>(cb));
    }

    /// Pulls from queue `queue_id` of `topic` on `broker` (name or address); the other
    /// parameters as Client::pull.
    Batch pull(std::string_view broker, std::string_view consumer_group, std::string_view topic, int32_t queue_id,
               int64_t offset, int32_t max_messages = 32, int32_t suspend_timeout_ms = 0,
               std::string_view subscription = "*") const {
        detail::CStr b(broker, "broker"), g(consumer_group, "consumer_group"), t(topic, "topic");
        detail::OptCStr s(subscription, "subscription");
        bc_batch *out = nullptr;
        detail::call([&](bc_error **e) {
            return bc_manager_pull(h_.get(), b.get(), g.get(), t.get(), queue_id, offset, max_messages,
                                   suspend_timeout_ms, s.get(), &out, e);
        });
        return Batch(out);
    }
    template <CallbackFor<Batch> F>
    void pull_async(std::string_view broker, std::string_view consumer_group, std::string_view topic,
                    int32_t queue_id, int64_t offset, int32_t max_messages, int32_t suspend_timeout_ms,
                    std::string_view subscription, F &&cb) const {
        detail::CStr b(broker, "broker"), g(consumer_group, "consumer_group"), t(topic, "topic");
        detail::OptCStr s(subscription, "subscription");
        detail::start_async<detail::PullKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_pull_async(h_.get(), b.get(), g.get(), t.get(), queue_id, offset, max_messages,
                                         suspend_timeout_ms, s.get(), tramp, ud, e);
        });
    }
    template <CallbackFor<Batch> F>
    void pull_async(std::string_view broker, std::string_view consumer_group, std::string_view topic,
                    int32_t queue_id, int64_t offset, int32_t max_messages, int32_t suspend_timeout_ms,
                    std::string_view subscription, const CancelToken &token, F &&cb) const {
        detail::CStr b(broker, "broker"), g(consumer_group, "consumer_group"), t(topic, "topic");
        detail::OptCStr s(subscription, "subscription");
        detail::start_async<detail::PullKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_pull_async_with_cancel(h_.get(), b.get(), g.get(), t.get(), queue_id, offset,
                                                     max_messages, suspend_timeout_ms, s.get(), token.native(),
                                                     tramp, ud, e);
        });
    }

    /// Pulls from `broker` (name or address) as `request` describes.
    Batch pull(std::string_view broker, const PullRequest &request) const {
        detail::CStr b(broker, "broker");
        bc_batch *out = nullptr;
        detail::call([&](bc_error **e) { return bc_manager_pull_request(h_.get(), b.get(), request.native(), &out, e); });
        return Batch(out);
    }
    template <CallbackFor<Batch> F>
    void pull_async(std::string_view broker, const PullRequest &request, F &&cb) const {
        detail::CStr b(broker, "broker");
        detail::start_async<detail::PullKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_pull_request_async(h_.get(), b.get(), request.native(), nullptr, tramp, ud, e);
        });
    }
    template <CallbackFor<Batch> F>
    void pull_async(std::string_view broker, const PullRequest &request, const CancelToken &token, F &&cb) const {
        detail::CStr b(broker, "broker");
        detail::start_async<detail::PullKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_pull_request_async(h_.get(), b.get(), request.native(), token.native(), tramp, ud, e);
        });
    }

    /// The committed offset of `consumer_group` on a queue of `broker`; BC_ERR_OFFSET when none.
    int64_t query_consumer_offset(std::string_view broker, std::string_view consumer_group, std::string_view topic,
                                  int32_t queue_id) const {
        detail::CStr b(broker, "broker"), g(consumer_group, "consumer_group"), t(topic, "topic");
        return detail::call_int64([&](int64_t *v, bc_error **e) {
            return bc_manager_query_consumer_offset(h_.get(), b.get(), g.get(), t.get(), queue_id, v, e);
        });
    }
    template <CallbackFor<int64_t> F>
    void query_consumer_offset_async(std::string_view broker, std::string_view consumer_group,
                                     std::string_view topic, int32_t queue_id, F &&cb) const {
        detail::CStr b(broker, "broker"), g(consumer_group, "consumer_group"), t(topic, "topic");
        detail::start_async<detail::Int64Kind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_query_consumer_offset_async(h_.get(), b.get(), g.get(), t.get(), queue_id, tramp, ud,
                                                          e);
        });
    }
    /// The next offset to be written in a queue of `broker`.
    int64_t get_max_offset(std::string_view broker, std::string_view topic, int32_t queue_id) const {
        detail::CStr b(broker, "broker"), t(topic, "topic");
        return detail::call_int64([&](int64_t *v, bc_error **e) {
            return bc_manager_get_max_offset(h_.get(), b.get(), t.get(), queue_id, v, e);
        });
    }
    template <CallbackFor<int64_t> F>
    void get_max_offset_async(std::string_view broker, std::string_view topic, int32_t queue_id, F &&cb) const {
        detail::CStr b(broker, "broker"), t(topic, "topic");
        detail::start_async<detail::Int64Kind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_get_max_offset_async(h_.get(), b.get(), t.get(), queue_id, tramp, ud, e);
        });
    }
    /// Commits `offset` for `consumer_group` on a queue of `broker`.
    void update_consumer_offset(std::string_view broker, std::string_view consumer_group, std::string_view topic,
                                int32_t queue_id, int64_t offset) const {
        detail::CStr b(broker, "broker"), g(consumer_group, "consumer_group"), t(topic, "topic");
        detail::call([&](bc_error **e) {
            return bc_manager_update_consumer_offset(h_.get(), b.get(), g.get(), t.get(), queue_id, offset, e);
        });
    }
    template <CallbackFor<void> F>
    void update_consumer_offset_async(std::string_view broker, std::string_view consumer_group,
                                      std::string_view topic, int32_t queue_id, int64_t offset, F &&cb) const {
        detail::CStr b(broker, "broker"), g(consumer_group, "consumer_group"), t(topic, "topic");
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_update_consumer_offset_async(h_.get(), b.get(), g.get(), t.get(), queue_id, offset,
                                                           tramp, ud, e);
        });
    }
    /// Registers a producer and/or consumer group (empty: none) with every known broker.
    void heartbeat(std::string_view producer_group, std::string_view consumer_group) const {
        detail::OptCStr p(producer_group, "producer_group"), c(consumer_group, "consumer_group");
        detail::call([&](bc_error **e) { return bc_manager_heartbeat(h_.get(), p.get(), c.get(), e); });
    }
    template <CallbackFor<void> F>
    void heartbeat_async(std::string_view producer_group, std::string_view consumer_group, F &&cb) const {
        detail::OptCStr p(producer_group, "producer_group"), c(consumer_group, "consumer_group");
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_heartbeat_async(h_.get(), p.get(), c.get(), tramp, ud, e);
        });
    }
    /// Sends a heartbeat with data to every known broker.
    void send_heartbeat(const Heartbeat &heartbeat) const {
        detail::call([&](bc_error **e) { return bc_manager_send_heartbeat(h_.get(), heartbeat.native(), e); });
    }
    template <CallbackFor<void> F>
    void send_heartbeat_async(const Heartbeat &heartbeat, F &&cb) const {
        detail::start_async<detail::DoneKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_send_heartbeat_async(h_.get(), heartbeat.native(), tramp, ud, e);
        });
    }

    /// The health of a broker (address or name); never blocks. A string_view with a NUL byte
    /// answers Unknown.
    BrokerState broker_state(std::string_view addr) const noexcept {
        if (addr.find('\0') != std::string_view::npos) return BrokerState::Unknown;
        try {
            std::string a(addr);
            return static_cast<BrokerState>(bc_manager_broker_state(h_.get(), a.c_str()));
        } catch (...) {  // std::bad_alloc
            return BrokerState::Unknown;
        }
    }
    /// State and metrics as JSON: {"client_id", "name_servers", "brokers": [{"addr", "name",
    /// "state", "in_flight", "requests", ...}]}. Never blocks.
    std::string stats_json() const {
        return detail::call_string([&](char **s, bc_error **e) { return bc_manager_stats_json(h_.get(), s, e); });
    }
    /// The addresses of the known brokers, as a JSON array of strings (local).
    std::string brokers() const {
        return detail::call_string([&](char **s, bc_error **e) { return bc_manager_brokers(h_.get(), s, e); });
    }
    /// Every cluster and broker the name servers know, as JSON (ClusterInfo), with failover.
    std::string get_cluster_info() const {
        return detail::call_string([&](char **s, bc_error **e) { return bc_manager_get_cluster_info(h_.get(), s, e); });
    }
    template <CallbackFor<std::string> F>
    void get_cluster_info_async(F &&cb) const {
        detail::start_async<detail::TextKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_get_cluster_info_async(h_.get(), tramp, ud, e);
        });
    }
    /// The route of `topic` as JSON (TopicRouteData), cached or from the name servers.
    std::string get_route_info(std::string_view topic) const {
        detail::CStr t(topic, "topic");
        return detail::call_string([&](char **s, bc_error **e) {
            return bc_manager_get_route_info(h_.get(), t.get(), s, e);
        });
    }
    template <CallbackFor<std::string> F>
    void get_route_info_async(std::string_view topic, F &&cb) const {
        detail::CStr t(topic, "topic");
        detail::start_async<detail::TextKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_get_route_info_async(h_.get(), t.get(), tramp, ud, e);
        });
    }

    const bc_manager *native() const noexcept { return h_.get(); }

private:
    Manager(bc_manager *m, std::shared_ptr<detail::QueueState> queue) noexcept : queue_(std::move(queue)), h_(m) {}
    Manager(const detail::CStr *name_servers, const Config *config, const Queue *queue) {
        if (queue) queue_ = queue->s_;
        bc_manager *m = nullptr;
        const bc_config *c = config ? config->native() : nullptr;
        bc_queue *q = queue ? queue->native() : nullptr;
        detail::call([&](bc_error **e) {
            return name_servers ? bc_manager_new_from_name_servers(name_servers->get(), c, q, &m, e)
                                : bc_manager_new(c, q, &m, e);
        });
        h_.reset(m);
    }

    SendResult send_batch_impl(std::string_view producer_group, const detail::Messages &m) const {
        detail::CStr g(producer_group, "producer_group");
        bc_send_result *r = nullptr;
        detail::call([&](bc_error **e) {
            return bc_manager_send_batch(h_.get(), g.get(), m.data(), m.size(), &r, e);
        });
        return SendResult::take(r);
    }
    template <class F>
    void send_batch_async_impl(std::string_view producer_group, const detail::Messages &m, F &&cb) const {
        detail::CStr g(producer_group, "producer_group");
        detail::start_async<detail::SendKind>(std::forward<F>(cb), [&](auto tramp, void *ud, bc_error **e) {
            return bc_manager_send_batch_async(h_.get(), g.get(), m.data(), m.size(), tramp, ud, e);
        });
    }

    // Declared first so it is released last (see Client).
    std::shared_ptr<detail::QueueState> queue_;
    detail::Handle<bc_manager, bc_manager_free> h_;
};

}  // namespace brokerclient

#endif  // BROKERCLIENT_HPP
