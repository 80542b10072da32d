/*
 * brokerclient.hpp - header-only C++17 RAII wrapper over the C API of libbrokerclient.
 *
 * Every handle (Config, Queue, Message, Client, Batch) owns one C object through a
 * std::unique_ptr with the matching bc_*_free as deleter, and is move-only. Failures throw
 * brokerclient::Error (status, message, broker response code and remark, broker address,
 * retriable, fatal). Asynchronous operations take a std::function callback that receives a
 * brokerclient::Result<T> (a value or an Error) exactly once; see bindings/cpp/README.md.
 *
 * Build: -std=c++17 (or later), -I<include dir with brokerclient.h> -I<this dir>, link
 * -lbrokerclient (pkg-config brokerclient, or CMake brokerclient::brokerclient).
 */
#ifndef BROKERCLIENT_HPP
#define BROKERCLIENT_HPP

#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <iterator>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "brokerclient.h"

#if !defined(BC_AT_LEAST_VERSION) || !BC_AT_LEAST_VERSION(0, 1, 0)
#error "brokerclient.hpp needs brokerclient.h 0.1.0 or newer"
#endif

namespace brokerclient {

/// The library's version at run time ("0.1.0"); compare with BC_VERSION_STR.
inline const char *version() noexcept { return bc_version_str(); }

/// True when the loaded library is the version this header describes.
inline bool library_matches_header() noexcept { return bc_version() == BC_VERSION_NUM; }

// ------------------------------------------------------------------------------------------
// Errors
// ------------------------------------------------------------------------------------------

/// A failed call or operation. what() is "<STATUS_NAME>: <message>".
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

    /// Copies everything out of a (borrowed) bc_error; `err` may be NULL.
    static Error from(bc_status status, const bc_error *err) {
        if (err == nullptr) return Error(status, bc_status_str(status));
        return Error(status, bc_error_message(err), bc_error_response_code(err),
                     bc_error_remark(err), bc_error_broker_addr(err), bc_error_is_retriable(err),
                     bc_error_is_fatal(err));
    }

    bc_status status() const noexcept { return status_; }
    /// The symbolic status, e.g. "BC_ERR_TIMEOUT" (static string).
    const char *status_name() const noexcept { return bc_status_name(status_); }
    /// The library's description of this failure.
    const std::string &message() const noexcept { return message_; }
    /// The RocketMQ response code when the broker answered with an error, else 0.
    int32_t response_code() const noexcept { return response_code_; }
    /// The broker's remark with that response code ("" when none).
    const std::string &remark() const noexcept { return remark_; }
    /// The broker address involved ("" when not known).
    const std::string &broker_addr() const noexcept { return broker_addr_; }
    /// True when the same operation may succeed if tried again.
    bool retriable() const noexcept { return retriable_; }
    /// True when the object that reported it is unusable from now on.
    bool fatal() const noexcept { return fatal_; }

private:
    bc_status status_;
    std::string message_;
    int32_t response_code_;
    std::string remark_;
    std::string broker_addr_;
    bool retriable_;
    bool fatal_;
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

/// Calls `f(..., &err)` and throws on a non-OK status.
template <class F>
void call(F &&f) {
    bc_error *err = nullptr;
    bc_status st = std::forward<F>(f)(&err);
    check(st, err);
}

/// Exceptions thrown by callbacks run inside Queue::dispatch are kept here and rethrown by
/// it; anywhere else (library threads) a throwing callback terminates the program, as a
/// noexcept function would.
struct DispatchState {
    int depth = 0;
    std::exception_ptr first;
};
inline thread_local DispatchState dispatch_state;

template <class F, class... A>
void invoke_callback(F &f, A &&...args) noexcept {
    try {
        f(std::forward<A>(args)...);
    } catch (...) {
        if (dispatch_state.depth == 0) std::terminate();
        if (!dispatch_state.first) dispatch_state.first = std::current_exception();
    }
}

inline std::string_view view_of(const char *s) noexcept {
    return s ? std::string_view(s) : std::string_view();
}

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

private:
    std::variant<T, Error> v_;
};

template <>
class Result<void> {
public:
    Result() = default;
    Result(Error error) : e_(std::move(error)) {}

    bool ok() const noexcept { return !e_.has_value(); }
    explicit operator bool() const noexcept { return ok(); }
    /// Throws the Error when the operation failed.
    void value() const {
        if (e_) throw *e_;
    }
    const Error &error() const {
        if (!e_) throw std::logic_error("brokerclient::Result::error() on a success");
        return *e_;
    }

private:
    std::optional<Error> e_;
};

// ------------------------------------------------------------------------------------------
// Config
// ------------------------------------------------------------------------------------------

/// Settings for Client (keys: see bc_config in brokerclient.h). Copied by the Client
/// constructor, so it may be destroyed right after. Not thread-safe.
class Config {
public:
    Config() {
        bc_config *c = nullptr;
        detail::call([&](bc_error **e) { return bc_config_new(&c, e); });
        h_.reset(c);
    }
    /// Sets `key` to `value`; throws Error (BC_ERR_INVALID_ARG) for an unknown key or bad value.
    Config &set(const std::string &key, const std::string &value) {
        detail::call([&](bc_error **e) { return bc_config_set(h_.get(), key.c_str(), value.c_str(), e); });
        return *this;
    }
    const bc_config *native() const noexcept { return h_.get(); }

private:
    detail::Handle<bc_config, bc_config_free> h_;
};

// ------------------------------------------------------------------------------------------
// Queue
// ------------------------------------------------------------------------------------------

/// A completion queue: a Client created with it runs its async callbacks on the thread that
/// calls dispatch(). Wait on fd() with your event loop (or call wait()), then dispatch().
/// Clients share ownership of the underlying bc_queue, so it is freed only after the last of
/// them (leftover completions are then delivered on the destroying thread). Thread-safe,
/// except that dispatch() should run on one thread at a time.
class Queue {
public:
    Queue() {
        bc_queue *q = nullptr;
        detail::call([&](bc_error **e) { return bc_queue_new(&q, e); });
        q_.reset(q, bc_queue_free);
    }
    Queue(Queue &&) noexcept = default;
    Queue &operator=(Queue &&) noexcept = default;
    Queue(const Queue &) = delete;
    Queue &operator=(const Queue &) = delete;

    /// Readable while completions wait; never read, write or close it.
    int fd() const noexcept { return bc_queue_fd(q_.get()); }

    /// Runs up to `max` waiting callbacks (0: all waiting now) on this thread; returns how
    /// many ran. If callbacks threw, the first exception is rethrown after all have run (the
    /// count is then lost); the others are dropped.
    size_t dispatch(size_t max = 0) {
        auto &st = detail::dispatch_state;
        ++st.depth;
        size_t n = bc_queue_dispatch(q_.get(), max);
        if (--st.depth == 0 && st.first) std::rethrow_exception(std::exchange(st.first, nullptr));
        return n;
    }

    /// Blocks up to `timeout_ms` (negative: forever) until completions wait or wakeup() is
    /// called; returns how many wait.
    size_t wait(int32_t timeout_ms) const noexcept { return bc_queue_wait(q_.get(), timeout_ms); }
    /// Interrupts every wait() on this queue. Any thread.
    void wakeup() const noexcept { bc_queue_wakeup(q_.get()); }
    /// Completions waiting.
    size_t size() const noexcept { return bc_queue_len(q_.get()); }

    bc_queue *native() const noexcept { return q_.get(); }
    /// Shared ownership of the C queue (what a Client keeps).
    const std::shared_ptr<bc_queue> &shared() const noexcept { return q_; }

private:
    std::shared_ptr<bc_queue> q_;
};

// ------------------------------------------------------------------------------------------
// Message
// ------------------------------------------------------------------------------------------

/// A message to send. Sends copy what they need, so a message may be reused or destroyed
/// right after a send returns (also an async one). Not thread-safe while being built.
class Message {
public:
    Message(const std::string &topic, const void *body, size_t len) {
        bc_message *m = nullptr;
        detail::call([&](bc_error **e) {
            return bc_message_new(topic.c_str(), static_cast<const uint8_t *>(body), len, &m, e);
        });
        h_.reset(m);
    }
    Message(const std::string &topic, std::string_view body)
        : Message(topic, body.data(), body.size()) {}

    Message &tags(const std::string &tags) {
        detail::call([&](bc_error **e) { return bc_message_set_tags(h_.get(), tags.c_str(), e); });
        return *this;
    }
    Message &keys(const std::string &keys) {
        detail::call([&](bc_error **e) { return bc_message_set_keys(h_.get(), keys.c_str(), e); });
        return *this;
    }
    Message &property(const std::string &name, const std::string &value) {
        detail::call([&](bc_error **e) {
            return bc_message_set_property(h_.get(), name.c_str(), value.c_str(), e);
        });
        return *this;
    }
    /// 1..18 (1s 5s 10s 30s 1m 2m ... 2h).
    Message &delay_level(int32_t level) {
        detail::call([&](bc_error **e) { return bc_message_set_delay_level(h_.get(), level, e); });
        return *this;
    }
    Message &flag(int32_t flag) {
        detail::call([&](bc_error **e) { return bc_message_set_flag(h_.get(), flag, e); });
        return *this;
    }
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
    std::string msg_id;
    std::string offset_msg_id;
    std::string transaction_id;
    int32_t queue_id = -1;
    int64_t queue_offset = -1;

    static SendResult from(const bc_send_result *r) {
        SendResult s;
        s.status = static_cast<SendStatus>(bc_send_result_status(r));
        s.msg_id = bc_send_result_msg_id(r);
        s.offset_msg_id = bc_send_result_offset_msg_id(r);
        s.transaction_id = bc_send_result_transaction_id(r);
        s.queue_id = bc_send_result_queue_id(r);
        s.queue_offset = bc_send_result_queue_offset(r);
        return s;
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

/// One pulled message. Every string_view points into the Batch it came from and is valid
/// until that Batch is destroyed.
class MessageView {
public:
    explicit MessageView(const bc_message_view &v) noexcept : v_(v) {}

    std::string_view body() const noexcept {
        return v_.body_len ? std::string_view(reinterpret_cast<const char *>(v_.body), v_.body_len)
                           : std::string_view();
    }
    std::string_view topic() const noexcept { return detail::view_of(v_.topic); }
    std::string_view tags() const noexcept { return detail::view_of(v_.tags); }
    std::string_view keys() const noexcept { return detail::view_of(v_.keys); }
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

/// The outcome of a pull and its messages. Owns the bc_batch; immutable, so readable from
/// any thread.
class Batch {
public:
    /// Takes ownership of `b` (from bc_client_pull or a pull callback).
    explicit Batch(bc_batch *b) noexcept : h_(b) {}

    PullStatus status() const noexcept { return static_cast<PullStatus>(bc_batch_status(h_.get())); }
    /// Where the next pull of this queue should start.
    int64_t next_offset() const noexcept { return bc_batch_next_offset(h_.get()); }
    int64_t min_offset() const noexcept { return bc_batch_min_offset(h_.get()); }
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

    /// The value of user property `name` of message `i`, if it has one.
    std::optional<std::string_view> property(size_t i, const std::string &name) const noexcept {
        const char *v = bc_batch_property(h_.get(), i, name.c_str());
        if (v == nullptr) return std::nullopt;
        return std::string_view(v);
    }

    class iterator {
    public:
        using iterator_category = std::input_iterator_tag;
        using value_type = MessageView;
        using difference_type = std::ptrdiff_t;
        using pointer = void;
        using reference = MessageView;

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
        bool operator!=(const iterator &o) const noexcept { return !(*this == o); }

    private:
        const Batch *b_;
        size_t i_;
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
// Client
// ------------------------------------------------------------------------------------------

/// Async completion callbacks. Each runs exactly once: on a library thread (Client without a
/// Queue: never block in it) or inside Queue::dispatch on your thread. They must not throw
/// out of a library thread (that calls std::terminate); inside Queue::dispatch an exception
/// is carried out of dispatch().
using DoneCallback = std::function<void(Result<void>)>;
using SendCallback = std::function<void(Result<SendResult>)>;
using PullCallback = std::function<void(Result<Batch>)>;

namespace detail {

inline void done_trampoline(void *ud, bc_status st, const bc_error *err) noexcept {
    std::unique_ptr<DoneCallback> cb(static_cast<DoneCallback *>(ud));
    if (st == BC_OK) {
        invoke_callback(*cb, Result<void>());
    } else {
        invoke_callback(*cb, Result<void>(Error::from(st, err)));
    }
}

inline void send_trampoline(void *ud, bc_status st, const bc_error *err,
                            const bc_send_result *r) noexcept {
    std::unique_ptr<SendCallback> cb(static_cast<SendCallback *>(ud));
    if (st == BC_OK && r != nullptr) {
        invoke_callback(*cb, Result<SendResult>(SendResult::from(r)));
    } else {
        invoke_callback(*cb, Result<SendResult>(Error::from(st, err)));
    }
}

inline void pull_trampoline(void *ud, bc_status st, const bc_error *err, bc_batch *b) noexcept {
    std::unique_ptr<PullCallback> cb(static_cast<PullCallback *>(ud));
    Batch batch(b);  // owned from here on, whatever happens
    if (st == BC_OK && b != nullptr) {
        invoke_callback(*cb, Result<Batch>(std::move(batch)));
    } else {
        invoke_callback(*cb, Result<Batch>(Error::from(st, err)));
    }
}

/// Starts an async C call with a heap-held callback: on a refused call (non-OK return, no
/// callback will ever run) the callback is destroyed and the Error thrown.
template <class Cb, class Start>
void start_async(Cb &&cb, Start &&start) {
    if (!cb) throw Error(BC_ERR_INVALID_ARG, "the callback is empty");
    auto holder = std::make_unique<std::decay_t<Cb>>(std::forward<Cb>(cb));
    bc_error *err = nullptr;
    bc_status st = start(static_cast<void *>(holder.get()), &err);
    check(st, err);
    holder.release();  // the trampoline owns it now (it may even have run already)
}

inline std::vector<const bc_message *> natives(const std::vector<const Message *> &messages) {
    std::vector<const bc_message *> v;
    v.reserve(messages.size());
    for (const Message *m : messages) v.push_back(m ? m->native() : nullptr);
    return v;
}

}  // namespace detail

/// A client of one broker or name server. Thread-safe: any method from any thread, except
/// that destruction must be the last use. Destroying it cancels operations in flight (their
/// callbacks still run once, with BC_ERR_CANCELLED); call close() first for a graceful end.
class Client {
public:
    /// A client whose callbacks run on library threads.
    explicit Client(const std::string &addr, const Config *config = nullptr)
        : Client(addr, config, nullptr) {}
    /// A client whose callbacks run inside `queue.dispatch()`.
    Client(const std::string &addr, const Queue &queue, const Config *config = nullptr)
        : Client(addr, config, &queue) {}

    /// Connects now (operations also connect on demand).
    void connect() const {
        detail::call([&](bc_error **e) { return bc_client_connect(h_.get(), e); });
    }
    void connect_async(DoneCallback cb) const {
        detail::start_async(std::move(cb), [&](void *ud, bc_error **e) {
            return bc_client_connect_async(h_.get(), &detail::done_trampoline, ud, e);
        });
    }
    bool is_connected() const noexcept { return bc_client_is_connected(h_.get()); }
    /// Drops the current connection; the next operation reconnects.
    void disconnect() const noexcept { bc_client_disconnect(h_.get()); }

    /// Refuses new operations, lets those in flight finish for up to `timeout_ms`, cancels
    /// the rest. Blocking: not from a library thread (throws BC_ERR_WOULD_DEADLOCK there).
    void close(int32_t timeout_ms) {
        detail::call([&](bc_error **e) { return bc_client_close(h_.get(), timeout_ms, e); });
    }

    /// Creates (or updates) `topic` with `queues` read and write queues (admin).
    void create_topic(const std::string &topic, int32_t queues) const {
        detail::call([&](bc_error **e) { return bc_client_create_topic(h_.get(), topic.c_str(), queues, e); });
    }

    /// Sends and waits until stored. `queue_id` negative: the broker picks.
    SendResult send(const std::string &producer_group, const Message &message,
                    int32_t queue_id = -1) const {
        bc_send_result *r = nullptr;
        detail::call([&](bc_error **e) {
            return bc_client_send(h_.get(), producer_group.c_str(), queue_id, message.native(), &r, e);
        });
        detail::Handle<bc_send_result, bc_send_result_free> owned(r);
        return SendResult::from(owned.get());
    }

    /// Sends without waiting: `cb` runs once with the result. The message is copied before
    /// this returns. Throws (and never calls `cb`) when the send is refused.
    void send_async(const std::string &producer_group, const Message &message, int32_t queue_id,
                    SendCallback cb) const {
        detail::start_async(std::move(cb), [&](void *ud, bc_error **e) {
            return bc_client_send_async(h_.get(), producer_group.c_str(), queue_id, message.native(),
                                        &detail::send_trampoline, ud, e);
        });
    }

    /// Sends without any answer from the broker.
    void send_oneway(const std::string &producer_group, const Message &message,
                     int32_t queue_id = -1) const {
        detail::call([&](bc_error **e) {
            return bc_client_send_oneway(h_.get(), producer_group.c_str(), queue_id, message.native(), e);
        });
    }

    /// Sends messages of one topic as one batch, stored in order.
    SendResult send_batch(const std::string &producer_group, const std::vector<const Message *> &messages,
                          int32_t queue_id = -1) const {
        auto v = detail::natives(messages);
        bc_send_result *r = nullptr;
        detail::call([&](bc_error **e) {
            return bc_client_send_batch(h_.get(), producer_group.c_str(), queue_id, v.data(), v.size(), &r, e);
        });
        detail::Handle<bc_send_result, bc_send_result_free> owned(r);
        return SendResult::from(owned.get());
    }

    void send_batch_async(const std::string &producer_group, const std::vector<const Message *> &messages,
                          int32_t queue_id, SendCallback cb) const {
        auto v = detail::natives(messages);
        detail::start_async(std::move(cb), [&](void *ud, bc_error **e) {
            return bc_client_send_batch_async(h_.get(), producer_group.c_str(), queue_id, v.data(),
                                              v.size(), &detail::send_trampoline, ud, e);
        });
    }

    /// Pulls up to `max_messages` from `offset`; `suspend_timeout_ms > 0` long-polls.
    Batch pull(const std::string &consumer_group, const std::string &topic, int32_t queue_id,
               int64_t offset, int32_t max_messages = 32, int32_t suspend_timeout_ms = 0,
               const std::string &subscription = "*") const {
        bc_batch *b = nullptr;
        detail::call([&](bc_error **e) {
            return bc_client_pull(h_.get(), consumer_group.c_str(), topic.c_str(), queue_id, offset,
                                  max_messages, suspend_timeout_ms, subscription.c_str(), &b, e);
        });
        return Batch(b);
    }

    void pull_async(const std::string &consumer_group, const std::string &topic, int32_t queue_id,
                    int64_t offset, int32_t max_messages, int32_t suspend_timeout_ms,
                    const std::string &subscription, PullCallback cb) const {
        detail::start_async(std::move(cb), [&](void *ud, bc_error **e) {
            return bc_client_pull_async(h_.get(), consumer_group.c_str(), topic.c_str(), queue_id,
                                        offset, max_messages, suspend_timeout_ms, subscription.c_str(),
                                        &detail::pull_trampoline, ud, e);
        });
    }

    const bc_client *native() const noexcept { return h_.get(); }

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

private:
    Client(const std::string &addr, const Config *config, const Queue *queue) {
        if (queue) queue_ = queue->shared();
        bc_client *c = nullptr;
        detail::call([&](bc_error **e) {
            return bc_client_new(addr.c_str(), config ? config->native() : nullptr,
                                 queue ? queue->native() : nullptr, &c, e);
        });
        h_.reset(c);
    }

    // Declared first so it is released last: the client's completions reach the queue before
    // the queue may be freed.
    std::shared_ptr<bc_queue> queue_;
    detail::Handle<bc_client, bc_client_free> h_;
};

}  // namespace brokerclient

#endif  // BROKERCLIENT_HPP
