/*
 * test_cpp.cc - tests of the C++ wrapper (bindings/cpp/brokerclient.hpp) against a broker.
 *
 * Calls every operation the wrapper offers at least once, blocking and async, through a
 * Client and through a Manager, and checks what comes back: sends pulled back byte for byte,
 * offsets committed and queried, search by timestamp, min/max/earliest, route and cluster
 * info, heartbeat, consumer list, queue locks, send-back, view message, transactions (end
 * and the broker's check), cancel tokens (a long-poll pull cancelled while the broker holds
 * it), queue mode (callbacks on this thread inside Queue::dispatch, the fd, wait, wakeup and
 * the wakeup hook), the log callback and its lifetime, and errors as exceptions.
 *
 * Needs a broker: $BC_BROKER_ADDR (default 127.0.0.1:10911) and a name server:
 * $BC_NAMESRV_ADDR (default 127.0.0.1:9876). Fails when they are not reachable. Against the
 * mock broker (scripts/with-mock-broker.sh sets both addresses to it; its cluster info names
 * the broker "mock-broker") the checks of what only a real broker does are skipped, each
 * with a "skipped (mock broker)" line: the broker's transaction check, long polling, queue
 * lock exclusivity and the unknown-topic route error.
 *
 * No sleeps: every wait is on a condition (a condition variable, Queue::wait, poll on the
 * queue's fd) with a deadline. The last line is "test_cpp: N passed, M failed"; exits 1 when
 * M > 0. Built and run by scripts/c-tests.sh (g++ and clang++, plain, ASan+UBSan, valgrind).
 */
#include <poll.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "brokerclient.hpp"

namespace bc = brokerclient;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

// ---------------------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------------------

int g_passed = 0;
int g_failed = 0;

bool check_at(bool ok, const char *file, int line, const std::string &what) {
    if (ok) {
        g_passed++;
    } else {
        g_failed++;
        std::cerr << file << ":" << line << ": FAILED: " << what << "\n";
    }
    return ok;
}
#define CHECK(cond) check_at(static_cast<bool>(cond), __FILE__, __LINE__, #cond)
#define CHECK_MSG(cond, msg) check_at(static_cast<bool>(cond), __FILE__, __LINE__, std::string(#cond) + " (" + (msg) + ")")

/// Fails the check when `f` does not throw bc::Error with `status`; returns the error.
template <class F>
std::optional<bc::Error> expect_error(bc_status status, F &&f, const char *file, int line, const char *what) {
    try {
        f();
    } catch (const bc::Error &e) {
        check_at(e.status() == status, file, line,
                 std::string(what) + ": want " + bc::status_name(status) + ", got " + e.what());
        return e;
    }
    check_at(false, file, line, std::string(what) + ": no exception, want " + bc::status_name(status));
    return std::nullopt;
}
#define EXPECT_ERROR(status, ...) expect_error(status, [&] { __VA_ARGS__; }, __FILE__, __LINE__, #__VA_ARGS__)

/// A test section: an unexpected exception fails it (and the run) but not the others.
void section(const std::string &name, const std::function<void()> &body) {
    std::cout << "== " << name << std::endl;
    int failed_before = g_failed;
    try {
        body();
    } catch (const bc::Error &e) {
        g_failed++;
        std::cerr << "section '" << name << "': unexpected bc::Error " << e.what() << " (response code "
                  << e.response_code() << ", remark \"" << e.remark() << "\", broker \"" << e.broker_addr()
                  << "\")\n";
    } catch (const std::exception &e) {
        g_failed++;
        std::cerr << "section '" << name << "': unexpected exception: " << e.what() << "\n";
    }
    if (g_failed != failed_before) std::cout << "   (section failed)" << std::endl;
}

void skipped(const std::string &what) { std::cout << "   " << what << ": skipped (mock broker)" << std::endl; }

std::string env_or(const char *name, const char *dflt) {
    const char *v = std::getenv(name);
    return v && *v ? v : dflt;
}

std::string unique(const std::string &prefix) {
    static std::atomic<int> seq{0};
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                  std::chrono::system_clock::now().time_since_epoch())
                  .count();
    return prefix + "_" + std::to_string(getpid()) + "_" + std::to_string(us) + "_" + std::to_string(seq++);
}

bool contains(std::string_view hay, std::string_view needle) { return hay.find(needle) != std::string_view::npos; }

// ---------------------------------------------------------------------------------------------
// A minimal JSON reader (the wrapper returns JSON text: routes, cluster info, stats, locks)
// ---------------------------------------------------------------------------------------------

struct Json {
    using Array = std::vector<Json>;
    using Object = std::map<std::string, Json>;
    std::variant<std::nullptr_t, bool, double, std::string, Array, Object> v;

    bool is_object() const { return std::holds_alternative<Object>(v); }
    bool is_array() const { return std::holds_alternative<Array>(v); }
    const Object &obj() const {
        static const Object empty;
        return is_object() ? std::get<Object>(v) : empty;
    }
    const Array &arr() const {
        static const Array empty;
        return is_array() ? std::get<Array>(v) : empty;
    }
    const Json &operator[](const std::string &k) const {
        static const Json null;
        auto &o = obj();
        auto it = o.find(k);
        return it == o.end() ? null : it->second;
    }
    std::string str() const { return std::holds_alternative<std::string>(v) ? std::get<std::string>(v) : ""; }
    double num() const { return std::holds_alternative<double>(v) ? std::get<double>(v) : -1; }

    static Json parse(std::string_view s) {
        size_t i = 0;
        Json j = value(s, i);
        ws(s, i);
        if (i != s.size()) throw std::runtime_error("json: trailing text at " + std::to_string(i));
        return j;
    }

private:
    static void ws(std::string_view s, size_t &i) {
        while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t')) i++;
    }
    static void expect(std::string_view s, size_t &i, char c) {
        ws(s, i);
        if (i >= s.size() || s[i] != c) throw std::runtime_error(std::string("json: expected ") + c);
        i++;
    }
    static std::string string(std::string_view s, size_t &i) {
        expect(s, i, '"');
        std::string out;
        while (i < s.size() && s[i] != '"') {
            if (s[i] == '\\' && i + 1 < s.size()) {
                char c = s[++i];
                if (c == 'u' && i + 4 < s.size()) {
                    unsigned cp = static_cast<unsigned>(std::stoul(std::string(s.substr(i + 1, 4)), nullptr, 16));
                    out += cp < 0x80 ? char(cp) : '?';
                    i += 4;
                } else {
                    out += c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
                }
            } else {
                out += s[i];
            }
            i++;
        }
        expect(s, i, '"');
        return out;
    }
    static Json value(std::string_view s, size_t &i) {
        ws(s, i);
        if (i >= s.size()) throw std::runtime_error("json: unexpected end");
        char c = s[i];
        if (c == '{') {
            i++;
            Object o;
            ws(s, i);
            if (i < s.size() && s[i] == '}') return Json{(i++, o)};
            while (true) {
                std::string k = string(s, i);
                expect(s, i, ':');
                o.emplace(std::move(k), value(s, i));
                ws(s, i);
                if (i < s.size() && s[i] == ',') {
                    i++;
                    continue;
                }
                expect(s, i, '}');
                return Json{std::move(o)};
            }
        }
        if (c == '[') {
            i++;
            Array a;
            ws(s, i);
            if (i < s.size() && s[i] == ']') return Json{(i++, a)};
            while (true) {
                a.push_back(value(s, i));
                ws(s, i);
                if (i < s.size() && s[i] == ',') {
                    i++;
                    continue;
                }
                expect(s, i, ']');
                return Json{std::move(a)};
            }
        }
        if (c == '"') return Json{string(s, i)};
        if (s.substr(i, 4) == "true") return i += 4, Json{true};
        if (s.substr(i, 5) == "false") return i += 5, Json{false};
        if (s.substr(i, 4) == "null") return i += 4, Json{nullptr};
        size_t start = i;
        while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '-' || s[i] == '+' ||
                                s[i] == '.' || s[i] == 'e' || s[i] == 'E'))
            i++;
        if (start == i) throw std::runtime_error("json: unexpected character");
        return Json{std::stod(std::string(s.substr(start, i - start)))};
    }
};

// ---------------------------------------------------------------------------------------------
// Waiting for async completions (no sleeps: condition variables and the queue, with deadlines)
// ---------------------------------------------------------------------------------------------

/// Collects the Results of callbacks running on library threads.
template <class T>
class Inbox {
public:
    /// A callback that pushes its Result here; the Inbox must outlive the operation.
    auto sink() {
        return [this](bc::Result<T> r) {
            std::lock_guard<std::mutex> l(m_);
            items_.push_back(std::move(r));
            threads_.insert(std::this_thread::get_id());
            cv_.notify_all();
        };
    }
    /// Waits until `n` results arrived (or `timeout`); returns how many did.
    size_t wait(size_t n, std::chrono::milliseconds timeout = 30s) {
        std::unique_lock<std::mutex> l(m_);
        cv_.wait_for(l, timeout, [&] { return items_.size() >= n; });
        return items_.size();
    }
    size_t size() {
        std::lock_guard<std::mutex> l(m_);
        return items_.size();
    }
    /// Result `i` (after wait).
    bc::Result<T> &at(size_t i) {
        std::lock_guard<std::mutex> l(m_);
        return items_.at(i);
    }
    bool ran_on(std::thread::id id) {
        std::lock_guard<std::mutex> l(m_);
        return threads_.count(id) > 0;
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    std::vector<bc::Result<T>> items_;
    std::set<std::thread::id> threads_;
};

/// Waits for one async Result on library threads; returns it (throws on timeout).
template <class T, class Start>
bc::Result<T> await_result(Start &&start, std::chrono::milliseconds timeout = 30s) {
    auto inbox = std::make_shared<Inbox<T>>();
    start([inbox](bc::Result<T> r) { inbox->sink()(std::move(r)); });
    if (inbox->wait(1, timeout) < 1) throw std::runtime_error("an async operation did not complete in time");
    return std::move(inbox->at(0));
}

/// Dispatches `queue` on this thread until `done()` (or the deadline); false on timeout.
bool pump(bc::Queue &queue, const std::function<bool()> &done, std::chrono::milliseconds timeout = 30s) {
    auto deadline = Clock::now() + timeout;
    while (!done()) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0) return false;
        queue.wait(static_cast<int32_t>(left));
        queue.dispatch();
    }
    return true;
}

/// Set once, waited on: a one-shot event.
class Latch {
public:
    void set() {
        std::lock_guard<std::mutex> l(m_);
        set_ = true;
        cv_.notify_all();
    }
    bool is_set() {
        std::lock_guard<std::mutex> l(m_);
        return set_;
    }
    bool wait(std::chrono::milliseconds timeout = 30s) {
        std::unique_lock<std::mutex> l(m_);
        return cv_.wait_for(l, timeout, [&] { return set_; });
    }

private:
    std::mutex m_;
    std::condition_variable cv_;
    bool set_ = false;
};

/// A value whose last copy sets `latch` when destroyed: captured by a callback the library
/// owns, it shows when the library destroyed the callback.
std::shared_ptr<void> lifetime_token(const std::shared_ptr<Latch> &latch) {
    return std::shared_ptr<void>(nullptr, [latch](void *) { latch->set(); });
}

// ---------------------------------------------------------------------------------------------
// A test-local TCP relay: forwards each client connection to an upstream (or, without one,
// swallows everything: a broker that never answers) and counts the request codes of the
// frames the client sent, so a test can wait until a request reached the broker.
// ---------------------------------------------------------------------------------------------

class Relay {
public:
    /// `upstream` "host:port", or "" for a black hole.
    explicit Relay(std::string upstream) : upstream_(std::move(upstream)) {
        listen_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        a.sin_port = 0;
        if (listen_ < 0 || bind(listen_, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0 || ::listen(listen_, 8) != 0)
            throw std::runtime_error(std::string("relay: listen: ") + std::strerror(errno));
        socklen_t len = sizeof a;
        getsockname(listen_, reinterpret_cast<sockaddr *>(&a), &len);
        addr_ = "127.0.0.1:" + std::to_string(ntohs(a.sin_port));
        stop_ = eventfd(0, EFD_CLOEXEC);
        thread_ = std::thread([this] { run(); });
    }
    Relay(const Relay &) = delete;
    Relay &operator=(const Relay &) = delete;
    ~Relay() {
        uint64_t one = 1;
        if (write(stop_, &one, sizeof one) < 0) std::abort();
        thread_.join();
        close(listen_);
        close(stop_);
    }

    const std::string &addr() const { return addr_; }
    /// Frames with request code `code` the client sent so far.
    int seen(int code) {
        std::lock_guard<std::mutex> l(m_);
        return codes_[code];
    }
    int frames() {
        std::lock_guard<std::mutex> l(m_);
        return frames_;
    }
    /// Waits until `n` frames with `code` (or, code < 0, any `n` frames) were seen.
    bool wait_seen(int code, int n, std::chrono::milliseconds timeout = 30s) {
        std::unique_lock<std::mutex> l(m_);
        return cv_.wait_for(l, timeout, [&] { return (code < 0 ? frames_ : codes_[code]) >= n; });
    }

private:
    static int connect_to(const std::string &hostport) {
        auto colon = hostport.rfind(':');
        sockaddr_in a{};
        a.sin_family = AF_INET;
        a.sin_port = htons(static_cast<uint16_t>(std::stoi(hostport.substr(colon + 1))));
        inet_pton(AF_INET, hostport.substr(0, colon).c_str(), &a.sin_addr);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd >= 0 && connect(fd, reinterpret_cast<sockaddr *>(&a), sizeof a) != 0) {
            close(fd);
            return -1;
        }
        return fd;
    }
    static bool write_all(int fd, const char *p, size_t n) {
        while (n > 0) {
            ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
            if (w <= 0) return false;
            p += w;
            n -= static_cast<size_t>(w);
        }
        return true;
    }
    static uint32_t be32(const std::string &b, size_t at) {
        return (uint32_t(uint8_t(b[at])) << 24) | (uint32_t(uint8_t(b[at + 1])) << 16) |
               (uint32_t(uint8_t(b[at + 2])) << 8) | uint32_t(uint8_t(b[at + 3]));
    }
    /// Counts the complete frames in `buf` (RocketMQ remoting: length, serialize type +
    /// header length, header (JSON, or the binary ROCKETMQ form starting with the code),
    /// body) and removes them.
    void count_frames(std::string &buf) {
        while (buf.size() >= 8) {
            uint32_t total = be32(buf, 0);
            if (buf.size() < 4 + size_t(total)) return;
            uint32_t mark = be32(buf, 4);
            uint32_t hlen = mark & 0xFFFFFF;
            int code = -1;
            if (8 + size_t(hlen) <= buf.size()) {
                std::string header = buf.substr(8, hlen);
                if ((mark >> 24) == 1 && hlen >= 2) {
                    code = (uint8_t(header[0]) << 8) | uint8_t(header[1]);
                } else {
                    auto at = header.find("\"code\":");
                    if (at != std::string::npos) code = std::atoi(header.c_str() + at + 7);
                }
            }
            {
                std::lock_guard<std::mutex> l(m_);
                frames_++;
                codes_[code]++;
            }
            cv_.notify_all();
            buf.erase(0, 4 + size_t(total));
        }
    }
    struct Conn {
        int client = -1, up = -1;
        std::string pending;  // client bytes not yet a whole frame
    };
    void run() {
        std::vector<Conn> conns;
        std::vector<char> chunk(65536);
        while (true) {
            std::vector<pollfd> fds{{stop_, POLLIN, 0}, {listen_, POLLIN, 0}};
            for (const Conn &c : conns) {
                fds.push_back({c.client, POLLIN, 0});
                if (c.up >= 0) fds.push_back({c.up, POLLIN, 0});
            }
            if (poll(fds.data(), fds.size(), -1) < 0) {
                if (errno == EINTR) continue;
                break;
            }
            if (fds[0].revents) break;
            std::vector<Conn> next;
            size_t at = 2;
            for (Conn &c : conns) {
                bool alive = true;
                for (int side = 0; side < (c.up >= 0 ? 2 : 1) && alive; side++) {
                    const pollfd &p = fds[at + size_t(side)];
                    if (!(p.revents & (POLLIN | POLLHUP | POLLERR))) continue;
                    ssize_t r = recv(p.fd, chunk.data(), chunk.size(), 0);
                    alive = r > 0;
                    if (alive && side == 0) {
                        c.pending.append(chunk.data(), size_t(r));
                        count_frames(c.pending);
                        if (c.up >= 0) alive = write_all(c.up, chunk.data(), size_t(r));
                    } else if (alive) {
                        alive = write_all(c.client, chunk.data(), size_t(r));
                    }
                }
                at += c.up >= 0 ? 2 : 1;
                if (alive) {
                    next.push_back(std::move(c));
                } else {
                    close(c.client);
                    if (c.up >= 0) close(c.up);
                }
            }
            conns = std::move(next);
            if (fds[1].revents & POLLIN) {
                Conn c;
                c.client = accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
                if (c.client >= 0 && !upstream_.empty()) c.up = connect_to(upstream_);
                if (c.client >= 0 && (upstream_.empty() || c.up >= 0))
                    conns.push_back(std::move(c));
                else if (c.client >= 0)
                    close(c.client);
            }
        }
        for (Conn &c : conns) {
            close(c.client);
            if (c.up >= 0) close(c.up);
        }
    }

    std::string upstream_;
    std::string addr_;
    int listen_ = -1;
    int stop_ = -1;
    std::thread thread_;
    std::mutex m_;
    std::condition_variable cv_;
    std::map<int, int> codes_;
    int frames_ = 0;
};

constexpr int kPullMessage = 11;  // RequestCode.PULL_MESSAGE

// ---------------------------------------------------------------------------------------------
// Shared fixtures
// ---------------------------------------------------------------------------------------------

struct Env {
    std::string broker;      // BC_BROKER_ADDR
    std::string namesrv;     // BC_NAMESRV_ADDR
    std::string broker_name; // the name the name server knows `broker` by
    bool real = true;        // false against the mock broker
};
Env g_env;

bc::Config test_config(const std::string &client_id = "") {
    bc::Config c{{"request.timeout.ms", "10000"}};
    if (!client_id.empty()) c.set("client.id", client_id);
    return c;
}

/// Pulls `topic`/`queue_id` from `offset` with long polling until `want` messages arrived
/// (or 10 rounds); returns their bodies in order.
std::vector<std::string> pull_bodies(const bc::Client &c, const std::string &group, const std::string &topic,
                                     int32_t queue_id, int64_t offset, size_t want) {
    std::vector<std::string> out;
    for (int round = 0; round < 10 && out.size() < want; round++) {
        bc::Batch b = c.pull(group, topic, queue_id, offset, 32, 2000);
        if (b.status() == bc::PullStatus::OffsetIllegal) break;
        for (const bc::MessageView m : b) out.emplace_back(m.body());
        offset = b.next_offset();
    }
    return out;
}

/// The name of the broker at `addr` in a ClusterInfo JSON ("" when absent).
std::string broker_name_of(const std::string &cluster_json, const std::string &addr) {
    Json info = Json::parse(cluster_json);
    for (auto &[name, data] : info["brokerAddrTable"].obj())
        for (auto &[id, a] : data["brokerAddrs"].obj())
            if (a.str() == addr) return name;
    return "";
}

}  // namespace

// =============================================================================================
// Sections
// =============================================================================================

namespace {

void test_basics() {
    CHECK(bc::library_matches_header());
    CHECK(std::string(bc::version()) == BC_VERSION_STR);
    CHECK(bc::version_num() == BC_VERSION_NUM);
    CHECK(std::string(bc::status_name(BC_ERR_TIMEOUT)) == "BC_ERR_TIMEOUT");
    CHECK(std::string(bc::status_str(BC_OK)).size() > 0);

    // Result<T>.
    bc::Result<int64_t> ok(int64_t{7});
    CHECK(ok && ok.ok() && ok.value() == 7 && ok.status() == BC_OK);
    bool logic = false;
    try {
        (void)ok.error();
    } catch (const std::logic_error &) {
        logic = true;
    }
    CHECK(logic);
    bc::Result<void> bad(bc::Error(BC_ERR_TIMEOUT, "late"));
    CHECK(!bad && bad.status() == BC_ERR_TIMEOUT && bad.error().message() == "late");
    EXPECT_ERROR(BC_ERR_TIMEOUT, bad.value());

    // LogEvent::parse_fields undoes the library's quoting.
    auto f = bc::LogEvent::parse_fields(R"(addr=127.0.0.1:10911 opaque=42 reason="a b=\"c\"\\\n\u0001" empty="")");
    CHECK(f.size() == 4);
    if (f.size() == 4) {
        CHECK(f[0] == std::make_pair(std::string("addr"), std::string("127.0.0.1:10911")));
        CHECK(f[1].second == "42");
        CHECK(f[2].first == "reason" && f[2].second == "a b=\"c\"\\\n\x01");
        CHECK(f[3].first == "empty" && f[3].second.empty());
    }
    bc::LogEvent ev{bc::LogLevel::Info, "t", "m", "a=1 b=2"};
    CHECK(ev.field("b") == std::optional<std::string>("2") && !ev.field("c"));

    // Config: get, dump, clone.
    bc::Config c{{"pool.size", "2"}, {"acl.secret.key", "s3cret"}};
    CHECK(c.get("pool.size") == std::optional<std::string>("2"));
    CHECK(!c.get("request.timeout.ms"));
    CHECK(c.get("acl.secret.key") == std::optional<std::string>("***"));
    EXPECT_ERROR(BC_ERR_INVALID_ARG, c.get("no.such.key"));
    Json dumped = Json::parse(c.dump());
    CHECK(dumped["pool.size"].str() == "2" && dumped["acl.secret.key"].str() == "***" && dumped.obj().size() == 2);
    bc::Config copy = c.clone();
    copy.set("pool.size", "3");
    CHECK(c.get("pool.size") == std::optional<std::string>("2") && copy.get("pool.size") == std::optional<std::string>("3"));
    CHECK(copy.get("acl.secret.key") == std::optional<std::string>("***"));

    // message_queues_json escapes.
    std::vector<bc::MessageQueue> mqs{{"t\"1", "broker-a", 3}};
    CHECK(bc::message_queues_json(mqs) == R"([{"topic":"t\"1","brokerName":"broker-a","queueId":3}])");
    CHECK(bc::message_queues_json({}) == "[]");
}

void test_errors(const bc::Client &client, const std::string &topic) {
    // Config: an unknown key is the library's BC_ERR_INVALID_ARG, with its details.
    auto e = EXPECT_ERROR(BC_ERR_INVALID_ARG, bc::Config().set("no.such.key", "1"));
    if (e) {
        CHECK(contains(e->what(), "BC_ERR_INVALID_ARG: "));
        CHECK(!e->message().empty() && !e->retriable() && !e->fatal() && e->response_code() == 0);
        CHECK(e->native() != nullptr && bc_error_code(e->native()) == BC_ERR_INVALID_ARG);
        bc::Error copy = *e;  // shares the native clone
        CHECK(copy.native() == e->native());
        CHECK(bc::Error::from(e->native()).status() == BC_ERR_INVALID_ARG);
    }
    EXPECT_ERROR(BC_ERR_INVALID_ARG, bc::Config().set("request.timeout.ms", "soon"));
    // A string_view with a NUL byte never reaches the library.
    auto nul = EXPECT_ERROR(BC_ERR_INVALID_ARG, client.create_topic(std::string_view("a\0b", 3), 1));
    if (nul) CHECK(contains(nul->message(), "topic") && nul->native() == nullptr);
    // Messages.
    bc::Message empty(topic, "");
    EXPECT_ERROR(BC_ERR_INVALID_ARG, client.send("cpp_pg", empty, 0));
    EXPECT_ERROR(BC_ERR_INVALID_ARG, client.send("cpp_pg", bc::Message(topic, std::span<const uint8_t>()), 0));
    EXPECT_ERROR(BC_ERR_INVALID_ARG, client.send("cpp_pg", bc::Message(topic, std::span<const std::byte>()), 0));
    EXPECT_ERROR(BC_ERR_INVALID_ARG, bc::Message(topic, "x").delay_level(99));
    EXPECT_ERROR(BC_ERR_INVALID_ARG, bc::Message(topic, "x").delay_time_ms(0));
    EXPECT_ERROR(BC_ERR_INVALID_ARG, bc::Message(topic, "x").deliver_time_ms(-1));
    EXPECT_ERROR(BC_ERR_INVALID_ARG, bc::Message(topic, "x").property("UNIQ_KEY", "mine"));
    EXPECT_ERROR(BC_ERR_INVALID_ARG, bc::Message("", "x").property("", "v"));
    bc::Message delayed(topic, "x");
    delayed.delay(5s).deliver_at(std::chrono::system_clock::now() + 10s);  // accepted
    std::vector<bc::Message> mixed;
    mixed.emplace_back(topic, "a");
    mixed.emplace_back(topic + "_other", "b");
    EXPECT_ERROR(BC_ERR_INVALID_ARG, client.send_batch("cpp_pg", mixed, 0));
    EXPECT_ERROR(BC_ERR_INVALID_ARG, client.send_batch("cpp_pg", std::span<const bc::Message>(), 0));
    // Async refusals throw and never call back.
    bool called = false;
    EXPECT_ERROR(BC_ERR_INVALID_ARG, client.send_async("cpp_pg", empty, 0, [&](bc::Result<bc::SendResult>) { called = true; }));
    bc::SendCallback none;
    EXPECT_ERROR(BC_ERR_INVALID_ARG, client.send_async("cpp_pg", bc::Message(topic, "x"), 0, none));
    CHECK(!called);
    // Invalid arguments of other calls.
    EXPECT_ERROR(BC_ERR_INVALID_ARG, client.heartbeat("", ""));
    EXPECT_ERROR(BC_ERR_INVALID_ARG, client.lock_batch_mq("cpp_cg", "not json"));
    EXPECT_ERROR(BC_ERR_INVALID_ARG, client.view_message("not-an-id"));
    EXPECT_ERROR(BC_ERR_INVALID_ARG, client.end_transaction("cpp_pg", "id", "off", 0, "", static_cast<bc::TransactionState>(7)));
    EXPECT_ERROR(BC_ERR_INVALID_ARG, bc::set_log_callback(static_cast<bc::LogLevel>(9), [](const bc::LogEvent &) {}));
    // A moved-from handle holds NULL: the library refuses it.
    bc::Client moved_to(g_env.broker);
    bc::Client from = std::move(moved_to);
    CHECK(moved_to.native() == nullptr && from.native() != nullptr);
    EXPECT_ERROR(BC_ERR_INVALID_ARG, moved_to.connect());
    CHECK(!moved_to.is_connected());
    // A transport error names the broker address; it is retriable.
    bc::Config quick{{"connect.timeout.ms", "1000"}, {"request.timeout.ms", "2000"}};
    auto conn = EXPECT_ERROR(BC_ERR_CONNECTION, bc::Client("127.0.0.1:1", &quick).connect());
    if (conn) CHECK_MSG(conn->broker_addr() == "127.0.0.1:1" && conn->retriable(), conn->what());
    // A broker's error: response code and remark.
    std::string id = client.send("cpp_pg", bc::Message(topic, "for a bad id"), 0).offset_msg_id;
    CHECK(id.size() == 32);
    if (id.size() == 32) {
        std::string missing = id.substr(0, 16) + "00007FFFFFFF0000";
        try {
            client.view_message(missing);
            CHECK_MSG(false, "viewing " + missing + " succeeded");
        } catch (const bc::Error &err) {
            CHECK_MSG(err.status() == BC_ERR_BROKER_RESPONSE || err.status() == BC_ERR_BROKER_SYSTEM, err.what());
            CHECK_MSG(err.response_code() != 0 && !err.remark().empty(), err.what());
            CHECK(!err.retriable());
        }
    }
}

}  // namespace

namespace {

// ---------------------------------------------------------------------------------------------
// Client: connection, sends of every kind, pulls, view message
// ---------------------------------------------------------------------------------------------

void test_client_send_pull(const bc::Client &client, const std::string &topic) {
    const std::string pg = unique("cpp_pg"), cg = unique("cpp_cg");

    client.disconnect();
    CHECK(!client.is_connected());
    client.connect();
    CHECK(client.is_connected());
    CHECK(contains(client.client_id(), "@"));
    {
        // Periodic statistics through the handler (a library thread: the state is shared).
        struct Reports {
            std::mutex mu;
            std::condition_variable cv;
            int n = 0;
            std::string last;
        };
        auto reports = std::make_shared<Reports>();
        client.set_stats_handler(50, [reports](std::string_view json) {
            std::lock_guard<std::mutex> l(reports->mu);
            reports->n++;
            reports->last = std::string(json);
            reports->cv.notify_all();
        });
        {
            std::unique_lock<std::mutex> l(reports->mu);
            CHECK(reports->cv.wait_for(l, 30s, [&] { return reports->n >= 2; }));
            CHECK(contains(reports->last, "\"operations\""));
        }
        client.clear_stats_handler();
        EXPECT_ERROR(BC_ERR_INVALID_ARG, client.set_stats_handler(0, [](std::string_view) {}));
        Json stats = Json::parse(client.stats_json());
        CHECK(std::holds_alternative<bool>(stats["connected"].v) && std::get<bool>(stats["connected"].v) && stats["connects"].num() >= 1 && stats["bytes_out"].num() > 0);
    }
    client.disconnect();
    auto connected = await_result<void>([&](auto cb) { client.connect_async(cb); });
    CHECK_MSG(connected.ok(), connected.ok() ? "" : connected.error().what());
    CHECK(client.is_connected());

    // Blocking send with tags, keys, properties, flag; bodies from string, bytes and uint8_t.
    const std::string text = "hello from C++ " + unique("body");
    bc::Message msg(topic, text);
    msg.tags("cpp").keys("k1 k2").property("origin", "test_cpp").flag(7).wait_store(true);
    bc::SendResult sent = client.send(pg, msg, 0);
    CHECK(sent.status == bc::SendStatus::Ok && sent.queue_id == 0 && sent.queue_offset >= 0);
    CHECK(!sent.msg_id.empty() && !sent.offset_msg_id.empty());

    const std::vector<std::byte> raw{std::byte{0}, std::byte{1}, std::byte{0xFF}, std::byte{0}};
    bc::SendResult sent_bytes = client.send(pg, bc::Message(topic, std::span<const std::byte>(raw)), 0);
    const std::vector<uint8_t> raw8{0, 2, 0xFE};
    bc::SendResult sent_u8 = client.send(pg, bc::Message(topic, std::span<const uint8_t>(raw8)), 0);
    CHECK(sent_bytes.queue_offset == sent.queue_offset + 1 && sent_u8.queue_offset == sent.queue_offset + 2);

    // Pull the three back, byte for byte.
    std::vector<std::string> bodies;
    std::optional<bc::Batch> first;
    int64_t off = sent.queue_offset;
    for (int round = 0; round < 10 && bodies.size() < 3; round++) {
        bc::Batch b = client.pull(cg, topic, 0, off, 32, 2000, "*");
        CHECK(b.status() != bc::PullStatus::OffsetIllegal);
        for (const bc::MessageView m : b) bodies.emplace_back(m.body());
        off = b.next_offset();
        if (!first && !b.empty()) first.emplace(std::move(b));
    }
    CHECK(bodies.size() == 3);
    if (bodies.size() == 3) {
        CHECK(bodies[0] == text);
        CHECK(bodies[1] == std::string("\0\1\xFF\0", 4));
        CHECK(bodies[2] == std::string("\0\2\xFE", 3));
    }
    if (first) {
        bc::MessageView m = first->at(0);
        CHECK(m.topic() == topic && m.tags() == "cpp" && m.keys() == "k1 k2" && m.flag() == 7);
        CHECK(m.msg_id() == sent.msg_id && m.offset_msg_id() == sent.offset_msg_id);
        CHECK(m.queue_id() == 0 && m.queue_offset() == sent.queue_offset && m.reconsume_times() == 0);
        CHECK(m.born_timestamp() > 0 && m.store_timestamp() >= m.born_timestamp() - 60000);
        CHECK(m.commit_log_offset() >= 0);
        CHECK(first->property(0, "origin") == std::optional<std::string_view>("test_cpp"));
        CHECK(!first->property(0, "absent"));
        auto props = first->properties(0);
        CHECK(props.size() == first->property_count(0) && props.size() >= 3);
        std::map<std::string_view, std::string_view> pm(props.begin(), props.end());
        CHECK(pm["origin"] == "test_cpp" && pm["TAGS"] == "cpp" && pm["KEYS"] == "k1 k2" && pm["UNIQ_KEY"] == sent.msg_id);
        CHECK(first->property_count(first->size()) == 0);
        EXPECT_ERROR(BC_ERR_INVALID_ARG, first->properties(first->size()));
        CHECK(first->next_offset() > sent.queue_offset && first->min_offset() >= 0 &&
              first->max_offset() >= first->next_offset());
        if (first->size() >= 2) {
            auto bytes = (*first)[1].bytes();
            CHECK(bytes.size() == raw.size() && std::equal(bytes.begin(), bytes.end(), raw.begin()));
        }
        EXPECT_ERROR(BC_ERR_INVALID_ARG, first->at(first->size()));
        // A tag filter that matches nothing.
        bc::Batch none = client.pull(cg, topic, 0, sent.queue_offset, 32, 0, "no-such-tag");
        CHECK(none.empty());
    }

    // A PullRequest: tag filter, size, long polling, commit with the pull.
    {
        bc::PullRequest req(cg, topic, 0, sent.queue_offset);
        req.max_messages(2).expression("cpp || other").long_polling(2000).sub_version(0).commit_offset(-1);
        bc::Batch b = client.pull(req);
        CHECK(b.size() == 1 && b[0].body() == text);  // only the first of the three is tagged "cpp"
        req.offset(sent.queue_offset).expression("", bc::ExpressionType::Tag).expression("*").long_polling(0);
        auto ra = await_result<bc::Batch>([&](auto cb) { client.pull_async(req, cb); });
        CHECK(ra.ok() && ra.value().size() == 2);
        bc::CancelToken keep;
        const std::string commit_group = unique("cpp_commit_cg");
        client.heartbeat("", commit_group);
        bc::PullRequest commit(commit_group, topic, 0, sent.queue_offset);
        commit.commit_offset(sent.queue_offset + 1);
        auto rc = await_result<bc::Batch>([&](auto cb) { client.pull_async(commit, keep, cb); });
        CHECK(rc.ok() && !rc.value().empty());
        CHECK(client.query_consumer_offset(commit_group, topic, 0) == sent.queue_offset + 1);
        EXPECT_ERROR(BC_ERR_INVALID_ARG, bc::PullRequest(cg, topic, 0, 0).max_messages(0));
        EXPECT_ERROR(BC_ERR_INVALID_ARG, bc::PullRequest(cg, topic, 0, 0).long_polling(-1));
        EXPECT_ERROR(BC_ERR_INVALID_ARG, bc::PullRequest(cg, topic, 0, 0).expression("x", static_cast<bc::ExpressionType>(9)));
        EXPECT_ERROR(BC_ERR_INVALID_ARG, bc::PullRequest("", topic, 0, 0));
        if (g_env.real) {
            // The test brokers run with enablePropertyFilter=true: an SQL92 filter on a user
            // property returns exactly the message that carries it (the other two have no
            // "origin" property, which SQL92 treats as not matching).
            bc::PullRequest sql(cg, topic, 0, sent.queue_offset);
            sql.max_messages(32).expression("origin = 'test_cpp'", bc::ExpressionType::Sql92);
            bc::Batch matched = client.pull(sql);
            CHECK(matched.size() == 1 && matched[0].body() == text);
            sql.expression("origin = 'someone else'", bc::ExpressionType::Sql92);
            CHECK(client.pull(sql).empty());
        } else {
            skipped("SQL92 filters need the real broker");
        }
    }

    // Per-call deadlines: a handle with its own timeout on the same connection.
    {
        bc::Client quick = client.with_timeout(5000);
        CHECK(quick.send(pg, bc::Message(topic, "with a deadline"), 0).queue_id == 0);
        EXPECT_ERROR(BC_ERR_INVALID_ARG, client.with_timeout(0));
    }

    // View message, blocking and async.
    bc::Batch viewed = client.view_message(sent.offset_msg_id);
    CHECK(viewed.size() == 1 && viewed.status() == bc::PullStatus::Found);
    if (viewed.size() == 1) CHECK(viewed[0].body() == text && viewed[0].queue_offset() == sent.queue_offset);
    auto viewed_async = await_result<bc::Batch>([&](auto cb) { client.view_message_async(sent_u8.offset_msg_id, cb); });
    CHECK(viewed_async.ok() && viewed_async.value().size() == 1 &&
          viewed_async.value()[0].body() == std::string("\0\2\xFE", 3));

    // Every other send kind to queue 1: async, oneway, oneway async, batches of all kinds.
    auto body = [](int i) { return "q1 #" + std::to_string(i); };
    std::vector<std::string> want;
    auto a = await_result<bc::SendResult>([&](auto cb) { client.send_async(pg, bc::Message(topic, body(0)), 1, cb); });
    CHECK(a.ok() && a.value().queue_id == 1);
    want.push_back(body(0));
    std::vector<bc::Message> batch;
    for (int i = 1; i <= 3; i++) batch.emplace_back(topic, body(i)), want.push_back(body(i));
    bc::SendResult b = client.send_batch(pg, batch, 1);
    CHECK(b.queue_id == 1 && std::count(b.msg_id.begin(), b.msg_id.end(), ',') == 2);
    bc::Message m4(topic, body(4)), m5(topic, body(5));
    std::vector<const bc::Message *> ptrs{&m4, &m5};
    CHECK(client.send_batch(pg, ptrs, 1).queue_id == 1);
    want.push_back(body(4)), want.push_back(body(5));
    std::vector<bc::Message> batch2;
    batch2.emplace_back(topic, body(6));
    batch2.emplace_back(topic, body(7));
    auto ba = await_result<bc::SendResult>([&](auto cb) { client.send_batch_async(pg, batch2, 1, cb); });
    CHECK(ba.ok() && ba.value().queue_id == 1);
    want.push_back(body(6)), want.push_back(body(7));
    bc::Message m8(topic, body(8));
    std::vector<const bc::Message *> ptrs8{&m8};
    auto bap = await_result<bc::SendResult>([&](auto cb) { client.send_batch_async(pg, ptrs8, 1, cb); });
    CHECK(bap.ok());
    want.push_back(body(8));
    // Oneways last: nothing orders them with the sends above; they are looked for by body.
    client.send_oneway(pg, bc::Message(topic, body(9)), 1);
    auto ow = await_result<void>([&](auto cb) { client.send_oneway_async(pg, bc::Message(topic, body(10)), 1, cb); });
    CHECK(ow.ok());
    std::vector<bc::Message> batch3;
    batch3.emplace_back(topic, body(11));
    client.send_batch_oneway(pg, batch3, 1);
    bc::Message m12(topic, body(12));
    std::vector<const bc::Message *> ptrs12{&m12};
    client.send_batch_oneway(pg, ptrs12, 1);
    auto bow = await_result<void>([&](auto cb) { client.send_batch_oneway_async(pg, batch3, 1, cb); });
    CHECK(bow.ok());
    auto bowp = await_result<void>([&](auto cb) { client.send_batch_oneway_async(pg, ptrs12, 1, cb); });
    CHECK(bowp.ok());
    for (int i = 9; i <= 12; i++) want.push_back(body(i));
    want.push_back(body(11)), want.push_back(body(12));  // sent twice each

    auto got = pull_bodies(client, cg, topic, 1, a.ok() ? a.value().queue_offset : 0, want.size());
    std::multiset<std::string> got_set(got.begin(), got.end()), want_set(want.begin(), want.end());
    CHECK_MSG(got_set == want_set, std::to_string(got.size()) + " of " + std::to_string(want.size()) + " pulled");
    // The blocking sends are stored in order.
    CHECK(got.size() >= 9 && std::equal(want.begin(), want.begin() + 9, got.begin()));

    // Async pull (library thread), the batch owned by the Result.
    auto pa = await_result<bc::Batch>([&](auto cb) { client.pull_async(cg, topic, 1, 0, 4, 0, "", cb); });
    CHECK(pa.ok() && pa.value().size() == 4 && pa.value()[0].body() == body(0));
    bc::Batch moved_out = std::move(pa).value();
    CHECK(moved_out.size() == 4);
}

// ---------------------------------------------------------------------------------------------
// Client: offsets and times
// ---------------------------------------------------------------------------------------------

void test_client_offsets(const bc::Client &client, const std::string &topic) {
    const std::string pg = unique("cpp_pg"), cg = unique("cpp_cg");
    // Queue 2 holds exactly these three.
    std::vector<bc::SendResult> sent;
    for (int i = 0; i < 3; i++) sent.push_back(client.send(pg, bc::Message(topic, "offsets " + std::to_string(i)), 2));
    CHECK(sent[0].queue_offset == 0 && sent[2].queue_offset == 2);

    std::vector<int64_t> ts;
    int64_t next = 0;
    for (int round = 0; round < 10 && ts.size() < 3; round++) {
        bc::Batch b = client.pull(cg, topic, 2, next, 32, 2000);
        for (const bc::MessageView m : b) ts.push_back(m.store_timestamp());
        next = b.next_offset();
    }
    CHECK(ts.size() == 3);
    // Pulled, so in the consume queue (a send returns before the broker indexes it there).
    CHECK(client.get_max_offset(topic, 2) == 3);
    CHECK(client.get_min_offset(topic, 2) == 0);
    CHECK(client.get_max_offset(topic, 3) == 0);
    auto mx = await_result<int64_t>([&](auto cb) { client.get_max_offset_async(topic, 2, cb); });
    auto mn = await_result<int64_t>([&](auto cb) { client.get_min_offset_async(topic, 2, cb); });
    CHECK(mx.ok() && mx.value() == 3 && mn.ok() && mn.value() == 0);
    if (ts.size() == 3) {
        CHECK(client.get_earliest_msg_store_time(topic, 2) == ts[0]);
        auto early = await_result<int64_t>([&](auto cb) { client.get_earliest_msg_store_time_async(topic, 2, cb); });
        CHECK(early.ok() && early.value() == ts[0]);
        CHECK(client.search_offset_by_timestamp(topic, 2, ts[0] - 60000) == 0);
        for (size_t i = 0; i < 3; i++) {
            int64_t lower = std::find(ts.begin(), ts.end(), ts[i]) - ts.begin();
            int64_t upper = ts.rend() - std::find(ts.rbegin(), ts.rend(), ts[i]) - 1;
            // Messages stored in the same millisecond tie: 5.x picks the first or the last of
            // them as asked; 4.9.x has no boundary type and picks one of them.
            const int64_t lo = client.search_offset_by_timestamp(topic, 2, ts[i]);
            const int64_t hi = client.search_offset_by_timestamp(topic, 2, ts[i], true);
            CHECK(lo == lower || (lower != upper && lo >= lower && lo <= upper));
            CHECK(hi == upper || (lower != upper && hi >= lower && hi <= upper));
        }
        auto found = await_result<int64_t>([&](auto cb) { client.search_offset_by_timestamp_async(topic, 2, ts[2], true, cb); });
        const int64_t first2 = std::find(ts.begin(), ts.end(), ts[2]) - ts.begin();  // ties (4.9.x)
        CHECK(found.ok() && (found.value() == 2 || (first2 < 2 && found.value() >= first2 && found.value() <= 2)));
    }

    // Commit and query: blocking, async, oneway, oneway async.
    client.heartbeat("", cg);
    client.update_consumer_offset(cg, topic, 2, 2);
    CHECK(client.query_consumer_offset(cg, topic, 2) == 2);
    auto up = await_result<void>([&](auto cb) { client.update_consumer_offset_async(cg, topic, 2, 1, cb); });
    CHECK(up.ok());
    auto q = await_result<int64_t>([&](auto cb) { client.query_consumer_offset_async(cg, topic, 2, cb); });
    CHECK(q.ok() && q.value() == 1);
    // A oneway commit has no answer: query (each a round trip) until it shows.
    auto committed = [&](int64_t want) {
        for (int i = 0; i < 200; i++)
            if (client.query_consumer_offset(cg, topic, 2) == want) return true;
        return false;
    };
    client.update_consumer_offset_oneway(cg, topic, 2, 3);
    CHECK(committed(3));
    auto upo = await_result<void>([&](auto cb) { client.update_consumer_offset_oneway_async(cg, topic, 2, 0, cb); });
    CHECK(upo.ok() && committed(0));
}

// ---------------------------------------------------------------------------------------------
// Client: membership, consumer list, send-back, queue locks
// ---------------------------------------------------------------------------------------------

void test_client_groups(const std::string &topic) {
    const std::string pg = unique("cpp_pg"), cg = unique("cpp_cg");
    const std::string id_a = unique("cpp_a") + "@test", id_b = unique("cpp_b") + "@test";
    bc::Config ca = test_config(id_a), cb_ = test_config(id_b);
    bc::Client a(g_env.broker, &ca), b(g_env.broker, &cb_);

    a.connect();
    CHECK(a.client_id() == id_a);
    a.heartbeat(pg, cg);
    auto hb = await_result<void>([&](auto cb) { b.heartbeat_async("", cg, cb); });
    CHECK(hb.ok());
    Json members = Json::parse(a.get_consumer_list(cg));
    std::set<std::string> ids;
    for (auto &m : members.arr()) ids.insert(m.str());
    CHECK_MSG(ids.count(id_a) && ids.count(id_b), a.get_consumer_list(cg));
    auto list = await_result<std::string>([&](auto cb) { b.get_consumer_list_async(cg, cb); });
    CHECK(list.ok() && contains(list.value(), id_a));

    // A heartbeat with data: a push consumer group subscribed to one tag, sent by a (blocking)
    // and b (async). On the real broker: a pull that carries no expression is filtered by the
    // registered subscription, and a's notify handler hears both arrivals.
    {
        struct Notices {
            std::mutex mu;
            std::condition_variable cv;
            std::vector<std::string> groups;
        };
        // Shared with the handler by value: a notice may still be running when it is removed.
        auto seen = std::make_shared<Notices>();
        a.set_notify_handler([seen](std::string_view g) {
            std::lock_guard<std::mutex> l(seen->mu);
            seen->groups.emplace_back(g);
            seen->cv.notify_all();
        });
        const std::string cg2 = unique("cpp_cg_data");
        bc::Heartbeat data;
        data.producer(pg)
            .consumer(cg2, bc::ConsumeType::Passively, bc::MessageModel::Clustering, bc::ConsumeFromWhere::FirstOffset)
            .subscribe(cg2, topic, "*")
            .subscribe(cg2, topic, "cpp_keep || cpp_other");  // replaces "*"
        a.send_heartbeat(data);
        auto sent_hb = await_result<void>([&](auto cb) { b.send_heartbeat_async(data, cb); });
        CHECK(sent_hb.ok());
        EXPECT_ERROR(BC_ERR_INVALID_ARG, bc::Heartbeat().subscribe("nobody", topic));
        EXPECT_ERROR(BC_ERR_INVALID_ARG, bc::Heartbeat().consumer(cg2, static_cast<bc::ConsumeType>(9)));
        EXPECT_ERROR(BC_ERR_INVALID_ARG, a.send_heartbeat(bc::Heartbeat()));
        Json members2 = Json::parse(a.get_consumer_list(cg2));
        CHECK(members2.arr().size() == 2);
        if (g_env.real) {
            {
                std::unique_lock<std::mutex> l(seen->mu);
                CHECK_MSG(seen->cv.wait_for(l, 30s, [&] {
                    return std::count(seen->groups.begin(), seen->groups.end(), cg2) >= 2;
                }), "a heard its own and b's arrival");
            }
            bc::Message keep(topic, "kept"), drop(topic, "dropped");
            keep.tags("cpp_keep");
            drop.tags("cpp_drop");
            bc::SendResult first = a.send(pg, drop, 2);
            a.send(pg, keep, 2);
            bc::PullRequest by_heartbeat(cg2, topic, 2, first.queue_offset);
            by_heartbeat.expression("");  // none: the registered subscription filters
            std::vector<std::string> bodies;
            for (int round = 0; round < 50 && bodies.empty(); round++) {
                for (const bc::MessageView m : a.pull(by_heartbeat)) bodies.emplace_back(m.body());
                if (bodies.empty()) std::this_thread::sleep_for(20ms);  // consume queue not built yet
            }
            CHECK(bodies == std::vector<std::string>{"kept"});
        } else {
            skipped("subscription filtering and membership notices");
        }
        a.clear_notify_handler();
        bc::Client quick = a.with_timeout(5000);
        EXPECT_ERROR(BC_ERR_INVALID_ARG, quick.set_notify_handler([](std::string_view) {}));
    }

    // Send-back of a pulled message, blocking and async.
    bc::SendResult s = a.send(pg, bc::Message(topic, "send me back"), 3);
    std::optional<bc::Batch> got;
    for (int round = 0; round < 10 && !got; round++) {
        bc::Batch batch = a.pull(cg, topic, 3, s.queue_offset, 1, 2000);
        if (!batch.empty()) got.emplace(std::move(batch));
    }
    CHECK(got.has_value());
    if (got) {
        a.consumer_send_back(cg, *got, 0, 1, -1);
        auto back = await_result<void>([&](auto cb) { a.consumer_send_back_async(cg, *got, 0, 1, 16, cb); });
        CHECK(back.ok());
        EXPECT_ERROR(BC_ERR_INVALID_ARG, a.consumer_send_back(cg, *got, 5));
    }

    // Queue locks: a holds queue 0 and 1; b cannot take them until a unlocks.
    std::vector<bc::MessageQueue> mqs{{topic, g_env.broker_name, 0}, {topic, g_env.broker_name, 1}};
    const std::string mq_json = bc::message_queues_json(mqs);
    auto locked = [](const std::string &json) {
        std::set<int> q;
        Json parsed = Json::parse(json);
        for (auto &m : parsed.arr()) q.insert(static_cast<int>(m["queueId"].num()));
        return q;
    };
    CHECK(locked(a.lock_batch_mq(cg, mq_json)) == std::set<int>({0, 1}));
    if (g_env.real) {
        CHECK(locked(b.lock_batch_mq(cg, mq_json)).empty());
    } else {
        skipped("lock exclusivity");
    }
    a.unlock_batch_mq(cg, mq_json);
    auto lb = await_result<std::string>([&](auto cb) { b.lock_batch_mq_async(cg, mq_json, cb); });
    CHECK(lb.ok() && locked(lb.value()) == std::set<int>({0, 1}));
    auto ub = await_result<void>([&](auto cb) { b.unlock_batch_mq_async(cg, mq_json, cb); });
    CHECK(ub.ok());
    CHECK(locked(a.lock_batch_mq(cg, mq_json)) == std::set<int>({0, 1}));
    a.unlock_batch_mq(cg, mq_json);

    // Leave the groups.
    a.unregister(pg, cg);
    auto un = await_result<void>([&](auto cb) { b.unregister_async("", cg, cb); });
    CHECK(un.ok());
}

// ---------------------------------------------------------------------------------------------
// Client: transactions (end_transaction; the broker's check through the handler)
// ---------------------------------------------------------------------------------------------

void test_client_transactions(const bc::Client &client, const std::string &topic) {
    const std::string pg = unique("cpp_tx_pg"), cg = unique("cpp_tx_cg");

    // end_transaction: commit makes a half message visible.
    bc::SendResult half = client.send(pg, bc::Message(topic, "tx commit").transactional(), 0);
    CHECK(!half.transaction_id.empty());
    int64_t before = client.get_max_offset(topic, 0);
    client.end_transaction(pg, half, bc::TransactionState::Commit);
    bool seen = false;
    for (int round = 0; round < 10 && !seen; round++) {
        bc::Batch b = client.pull(cg, topic, 0, before, 32, 2000);
        for (const bc::MessageView m : b) seen = seen || (m.body() == "tx commit" && m.msg_id() == half.msg_id);
        if (b.empty()) continue;
        before = b.next_offset();
    }
    CHECK_MSG(seen, "the committed half message appears");
    bc::SendResult half2 = client.send(pg, bc::Message(topic, "tx rollback").transactional(), 0);
    auto rb = await_result<void>([&](auto cb) {
        client.end_transaction_async(pg, half2, bc::TransactionState::Rollback, cb);
    });
    CHECK(rb.ok());
    bc::SendResult half3 = client.send(pg, bc::Message(topic, "tx rollback by fields").transactional(), 0);
    client.end_transaction(pg, half3.msg_id, half3.offset_msg_id, half3.queue_offset, "", bc::TransactionState::Rollback);
    auto rb2 = await_result<void>([&](auto cb) {
        client.end_transaction_async(pg, half3.msg_id, half3.offset_msg_id, half3.queue_offset, half3.transaction_id,
                                     bc::TransactionState::Rollback, cb);
    });
    CHECK(rb2.ok());

    if (!g_env.real) {
        skipped("the broker's transaction check");
        client.set_transaction_check_handler([](const bc::TransactionCheck &) { return bc::TransactionState::Unknown; });
        client.clear_transaction_check_handler();
        return;
    }

    // The broker asks (transactionTimeOut 2 s, checked every 1 s): the handler commits.
    struct Seen {
        std::mutex m;
        std::condition_variable cv;
        std::string wanted;
        bool committed = false;
        std::string topic, body, transaction_id, order, pgroup;
        bool done = false;
    };
    auto st = std::make_shared<Seen>();
    auto released = std::make_shared<Latch>();
    bc::Config cfg = test_config();
    bc::Client tx(g_env.broker, &cfg);
    tx.set_transaction_check_handler(
        [st, token = lifetime_token(released)](const bc::TransactionCheck &c) -> bc::TransactionState {
            std::lock_guard<std::mutex> l(st->m);
            if (c.msg_id() != st->wanted || st->committed) return bc::TransactionState::Unknown;
            st->committed = true;
            st->topic = c.topic();
            st->body = c.body();
            st->transaction_id = c.transaction_id();
            st->order = c.property("order").value_or("");
            st->pgroup = c.property("PGROUP").value_or("");
            st->done = c.bytes().size() == st->body.size();
            st->cv.notify_all();
            return bc::TransactionState::Commit;
        });
    tx.heartbeat(pg, "");
    // A check before `wanted` is set answers Unknown: the broker asks again (every second).
    bc::SendResult pending = tx.send(pg, bc::Message(topic, "tx by check").property("order", "42").transactional(), 1);
    {
        std::lock_guard<std::mutex> l(st->m);
        st->wanted = pending.msg_id;
    }
    int64_t start = client.get_max_offset(topic, 1);
    {
        std::unique_lock<std::mutex> l(st->m);
        CHECK_MSG(st->cv.wait_for(l, 60s, [&] { return st->committed; }), "the broker's check in 60 s");
        CHECK(st->topic == topic && st->body == "tx by check" && st->done);
        CHECK(st->transaction_id == pending.transaction_id && st->order == "42" && st->pgroup == pg);
    }
    auto bodies = pull_bodies(client, cg, topic, 1, start, 1);
    CHECK(std::find(bodies.begin(), bodies.end(), "tx by check") != bodies.end());
    // Removing the handler releases it (once a check running now has returned).
    CHECK(!released->is_set());
    tx.clear_transaction_check_handler();
    CHECK(released->wait(30s));
    // Replacing and destroying the client release it too.
    auto released2 = std::make_shared<Latch>();
    tx.set_transaction_check_handler([token = lifetime_token(released2)](const bc::TransactionCheck &) {
        return bc::TransactionState::Unknown;
    });
    {
        bc::Client gone = std::move(tx);
    }
    CHECK(released2->wait(30s));
}

// ---------------------------------------------------------------------------------------------
// Client: name-server queries
// ---------------------------------------------------------------------------------------------

void test_client_namesrv(const std::string &topic) {
    bc::Client ns(g_env.namesrv);
    std::string route = ns.get_route_info(topic);
    Json r = Json::parse(route);
    CHECK(!r["brokerDatas"].arr().empty() && !r["queueDatas"].arr().empty());
    bool has_broker = false;
    for (auto &bd : r["brokerDatas"].arr())
        for (auto &[id, addr] : bd["brokerAddrs"].obj()) has_broker = has_broker || addr.str() == g_env.broker;
    CHECK_MSG(has_broker, route);
    auto ra = await_result<std::string>([&](auto cb) { ns.get_route_info_async(topic, cb); });
    CHECK(ra.ok() && contains(ra.value(), g_env.broker_name));
    std::string cluster = ns.get_cluster_info();
    CHECK(broker_name_of(cluster, g_env.broker) == g_env.broker_name);
    auto ca = await_result<std::string>([&](auto cb) { ns.get_cluster_info_async(cb); });
    CHECK(ca.ok() && contains(ca.value(), g_env.broker));
    if (g_env.real) {
        auto e = EXPECT_ERROR(BC_ERR_BROKER_RESPONSE, ns.get_route_info(unique("cpp_no_such_topic")));
        if (e) CHECK(e->response_code() == 17 && !e->remark().empty());
        auto ea = await_result<std::string>([&](auto cb) { ns.get_route_info_async(unique("cpp_no_such_topic"), cb); });
        CHECK(!ea.ok() && ea.status() == BC_ERR_BROKER_RESPONSE && ea.error().response_code() == 17);
    } else {
        skipped("unknown-topic route error");
    }
}

}  // namespace

namespace {

// ---------------------------------------------------------------------------------------------
// Cancel tokens
// ---------------------------------------------------------------------------------------------

void test_cancel(const bc::Client &client, const std::string &topic) {
    const std::string pg = unique("cpp_pg"), cg = unique("cpp_cg");
    bc::Config cfg = test_config();
    cfg.set("request.timeout.ms", "60000");

    // Through a relay that never answers: each operation waits until cancelled.
    Relay hole("");
    bc::Client c(hole.addr(), &cfg);
    {
        bc::CancelToken t;
        CHECK(!t.is_cancelled());
        Inbox<bc::SendResult> in;
        c.send_async(pg, bc::Message(topic, "never answered"), 0, t, in.sink());
        CHECK(hole.wait_seen(-1, 1));
        CHECK(in.size() == 0);
        t.cancel();
        t.cancel();  // harmless
        CHECK(t.is_cancelled());
        CHECK(in.wait(1) == 1 && in.at(0).status() == BC_ERR_CANCELLED);
        bool called = false;
        EXPECT_ERROR(BC_ERR_CANCELLED, c.send_async(pg, bc::Message(topic, "x"), 0, t, [&](bc::Result<bc::SendResult>) { called = true; }));
        CHECK(!called && in.size() == 1);
    }
    {
        bc::CancelToken t;
        Inbox<bc::Batch> in;
        int pulls = hole.seen(kPullMessage);
        c.pull_async(cg, topic, 0, 0, 32, 0, "*", t, in.sink());
        CHECK(hole.wait_seen(kPullMessage, pulls + 1));
        t.cancel();
        CHECK(in.wait(1) == 1 && in.at(0).status() == BC_ERR_CANCELLED);
        bool called = false;
        EXPECT_ERROR(BC_ERR_CANCELLED, c.pull_async(cg, topic, 0, 0, 32, 0, "*", t, [&](bc::Result<bc::Batch>) { called = true; }));
        CHECK(!called);
    }
    {
        // A deadline of its own: the black hole's silence ends in BC_ERR_TIMEOUT.
        auto t0 = Clock::now();
        EXPECT_ERROR(BC_ERR_TIMEOUT, c.with_timeout(300).get_max_offset(topic, 0));
        CHECK(Clock::now() - t0 < 20s);
        bc::Manager mt = bc::Manager::from_name_servers(hole.addr(), &cfg).with_timeout(300);
        EXPECT_ERROR(BC_ERR_TIMEOUT, mt.get_route_info(topic));
    }
    {
        bc::Manager m(&cfg);
        CHECK(m.add_broker(hole.addr()) == hole.addr());
        bc::CancelToken t0;
        Inbox<bc::Batch> req_pulled;
        int req_pulls = hole.seen(kPullMessage);
        m.pull_async(hole.addr(), bc::PullRequest(cg, topic, 0, 0), t0, req_pulled.sink());
        CHECK(hole.wait_seen(kPullMessage, req_pulls + 1));
        t0.cancel();
        CHECK(req_pulled.wait(1) == 1 && req_pulled.at(0).status() == BC_ERR_CANCELLED);
        bc::CancelToken t1, t2;
        Inbox<bc::Batch> pulled;
        int pulls = hole.seen(kPullMessage);
        m.pull_async(hole.addr(), cg, topic, 0, 0, 32, 0, "", t1, pulled.sink());
        CHECK(hole.wait_seen(kPullMessage, pulls + 1));
        t1.cancel();
        CHECK(pulled.wait(1) == 1 && pulled.at(0).status() == BC_ERR_CANCELLED);
        // A route-aware send asks the name servers first: here the black hole.
        bc::Manager mn = bc::Manager::from_name_servers(hole.addr(), &cfg);
        Inbox<bc::SendResult> sent;
        int frames = hole.frames();
        mn.send_async(pg, bc::Message(topic, "never answered"), t2, sent.sink());
        CHECK(hole.wait_seen(-1, frames + 1));
        t2.cancel();
        CHECK(sent.wait(1) == 1 && sent.at(0).status() == BC_ERR_CANCELLED);
        EXPECT_ERROR(BC_ERR_CANCELLED, mn.send_async(pg, bc::Message(topic, "x"), t2, [](bc::Result<bc::SendResult>) {}));
        EXPECT_ERROR(BC_ERR_CANCELLED, m.pull_async(hole.addr(), cg, topic, 0, 0, 1, 0, "", t1, [](bc::Result<bc::Batch>) {}));
    }
    // A token never cancelled changes nothing.
    {
        bc::CancelToken t;
        auto r = await_result<bc::SendResult>([&](auto cb) { client.send_async(pg, bc::Message(topic, "kept"), 0, t, cb); });
        CHECK(r.ok());
    }

    // A long poll the real broker holds (an empty queue, 60 s), cancelled once it is there.
    if (!g_env.real) {
        skipped("cancelling a long poll the broker holds");
        return;
    }
    const std::string empty_topic = unique("cpp_cancel");
    client.create_topic(empty_topic, 1);
    Relay relay(g_env.broker);
    bc::Client c2(relay.addr(), &cfg);
    bc::CancelToken t;
    Inbox<bc::Batch> in;
    auto t0 = Clock::now();
    c2.pull_async(cg, empty_topic, 0, 0, 32, 60000, "*", t, in.sink());
    CHECK(relay.wait_seen(kPullMessage, 1));
    CHECK_MSG(in.size() == 0, "the broker holds the pull");
    t.cancel();
    CHECK(in.wait(1, 30s) == 1);
    if (in.size() == 1) {
        CHECK_MSG(in.at(0).status() == BC_ERR_CANCELLED, bc::status_name(in.at(0).status()));
    }
    CHECK(Clock::now() - t0 < 45s);
    CHECK(in.size() == 1);
}

// ---------------------------------------------------------------------------------------------
// Queue mode: callbacks inside Queue::dispatch on this thread; fd, wait, wakeup, hook
// ---------------------------------------------------------------------------------------------

void test_queue_mode(const std::string &topic) {
    const std::string pg = unique("cpp_pg");
    const auto me = std::this_thread::get_id();
    bc::Config cfg = test_config();
    bc::Queue q;
    CHECK(q.fd() >= 0 && q.size() == 0);

    auto woke = std::make_shared<Latch>();
    std::atomic<int> wakes{0};
    q.set_wakeup([woke, &wakes] {
        wakes++;
        woke->set();
    });

    bc::Client qc(g_env.broker, q, &cfg);
    constexpr int kSends = 20;
    std::map<int, int> calls;  // this thread only: no lock
    int on_other_thread = 0, failures = 0;
    for (int i = 0; i < kSends; i++) {
        qc.send_async(pg, bc::Message(topic, "queued " + std::to_string(i)), 0, [&, i](bc::Result<bc::SendResult> r) {
            calls[i]++;
            if (std::this_thread::get_id() != me) on_other_thread++;
            if (!r) failures++;
        });
    }
    // The hook ran on a library thread, and the fd is readable, before anything is dispatched.
    CHECK(woke->wait(30s));
    pollfd p{q.fd(), POLLIN, 0};
    CHECK(poll(&p, 1, 30000) == 1 && (p.revents & POLLIN));
    CHECK(q.size() >= 1 && calls.empty());
    CHECK(pump(q, [&] { return calls.size() == size_t(kSends); }));
    CHECK(failures == 0 && on_other_thread == 0);
    bool once = true;
    for (auto &[i, n] : calls) once = once && n == 1;
    CHECK(once);
    CHECK(q.size() == 0 && q.dispatch() == 0);
    p.revents = 0;
    CHECK(poll(&p, 1, 0) == 0);  // drained: not readable

    // dispatch(max) runs at most max.
    int done = 0;
    for (int i = 0; i < 3; i++) qc.get_max_offset_async(topic, 0, [&](bc::Result<int64_t> r) { done += r.ok(); });
    auto deadline = Clock::now() + 30s;
    while (q.size() < 3 && Clock::now() < deadline) q.wait(1000);
    CHECK(q.size() == 3);
    CHECK(q.dispatch(1) == 1 && done == 1 && q.size() == 2);
    CHECK(q.dispatch() == 2 && done == 3);

    // Every kind of result through the queue: Batch, int64, string, void.
    std::optional<bc::Batch> batch;
    std::string cluster;
    bool topic_done = false;
    qc.pull_async(unique("cpp_cg"), topic, 0, 0, 4, 0, "*", [&](bc::Result<bc::Batch> r) { batch.emplace(std::move(r).value()); });
    bc::Client qns(g_env.namesrv, q, &cfg);
    qns.get_cluster_info_async([&](bc::Result<std::string> r) { cluster = r.value(); });
    qc.create_topic_async(topic, 4, [&](bc::Result<void> r) { topic_done = r.ok(); });
    CHECK(pump(q, [&] { return batch && !cluster.empty() && topic_done; }));
    CHECK(batch && batch->size() == 4);
    CHECK(contains(cluster, g_env.broker));

    // A Manager in queue mode.
    bc::Manager qm = bc::Manager::from_name_servers(g_env.namesrv, q, &cfg);
    std::optional<bc::Result<void>> started;
    qm.start_async([&](bc::Result<void> r) { started.emplace(std::move(r)); });
    CHECK(pump(q, [&] { return started.has_value(); }));
    CHECK(started && started->ok());
    std::optional<bc::Result<bc::SendResult>> msent;
    qm.send_async(pg, bc::Message(topic, "manager, queued"), [&](bc::Result<bc::SendResult> r) {
        if (std::this_thread::get_id() != me) on_other_thread++;
        msent.emplace(std::move(r));
    });
    CHECK(pump(q, [&] { return msent.has_value(); }));
    CHECK(msent && msent->ok() && on_other_thread == 0);
    bc::Manager qpm(q, &cfg);  // no name servers, queue mode
    std::string added;
    qpm.add_broker_async(g_env.broker, [&](bc::Result<std::string> r) { added = r.value(); });
    CHECK(pump(q, [&] { return !added.empty(); }));
    CHECK(added == g_env.broker);

    // An exception thrown by a callback comes out of dispatch(); the others still run.
    bool thrower_ran = false, other_ran = false;
    qc.connect_async([&](bc::Result<void>) {
        thrower_ran = true;
        throw std::runtime_error("thrown by a callback");
    });
    qc.connect_async([&](bc::Result<void>) { other_ran = true; });
    bool threw = false;
    try {
        pump(q, [&] { return thrower_ran && other_ran; });
    } catch (const std::runtime_error &e) {
        threw = std::string(e.what()) == "thrown by a callback";
    }
    CHECK(threw && thrower_ran);
    CHECK(pump(q, [&] { return other_ran; }));

    // Without the hook, completions no longer call it.
    q.clear_wakeup();
    int before = wakes.load();
    bool connected = false;
    qc.connect_async([&](bc::Result<void> r) { connected = r.ok(); });
    CHECK(pump(q, [&] { return connected; }));
    CHECK(wakes.load() == before);

    // wakeup() ends a wait() on another thread (a wakeup before its wait starts is lost: keep
    // waking until it returns).
    std::mutex m;
    std::condition_variable cv;
    std::optional<size_t> waited;
    auto t0 = Clock::now();
    std::thread waiter([&] {
        size_t n = q.wait(30000);
        std::lock_guard<std::mutex> l(m);
        waited = n;
        cv.notify_all();
    });
    {
        std::unique_lock<std::mutex> l(m);
        while (!waited && Clock::now() - t0 < 40s) {
            q.wakeup();
            cv.wait_for(l, 10ms, [&] { return waited.has_value(); });
        }
    }
    waiter.join();
    CHECK(waited == std::optional<size_t>(0));
    CHECK(Clock::now() - t0 < 25s);

    // A Client keeps its queue: destroying the Queue object first is safe, and the leftover
    // completion runs on this thread when the last owner (the client) is destroyed.
    auto q2 = std::make_unique<bc::Queue>();
    std::optional<std::thread::id> ran_on;
    int ran = 0;
    {
        bc::Client c3(g_env.broker, *q2, &cfg);
        c3.send_async(pg, bc::Message(topic, "outlives its queue"), 0, [&](bc::Result<bc::SendResult>) {
            ran++;
            ran_on = std::this_thread::get_id();
        });
        q2.reset();
        CHECK(ran == 0);
    }
    CHECK(ran == 1 && ran_on == me);

    qm.close(1000);
    qc.close(1000);
    qns.close(1000);
    q.dispatch();
}

// ---------------------------------------------------------------------------------------------
// Logging
// ---------------------------------------------------------------------------------------------

void test_logging() {
    struct Log {
        std::mutex m;
        std::condition_variable cv;
        std::vector<std::tuple<bc::LogLevel, std::string, std::string, std::string>> events;
    };
    auto log = std::make_shared<Log>();
    auto released = std::make_shared<Latch>();
    bc::set_log_callback(bc::LogLevel::Info, [log, token = lifetime_token(released)](const bc::LogEvent &e) {
        std::lock_guard<std::mutex> l(log->m);
        log->events.emplace_back(e.level, e.target, e.message, e.fields);
        log->cv.notify_all();
    });
    bc::Config cfg = test_config();
    {
        bc::Client lc(g_env.broker, &cfg);
        lc.connect();
        std::unique_lock<std::mutex> l(log->m);
        bool seen = log->cv.wait_for(l, 30s, [&] {
            for (auto &[level, target, message, fields] : log->events) {
                bc::LogEvent e{level, target, message, fields};
                if (message == "connected" && e.field("addr") == g_env.broker) return true;
            }
            return false;
        });
        CHECK(seen);
        for (auto &[level, target, message, fields] : log->events) {
            if (message != "connected") continue;
            CHECK(level == bc::LogLevel::Info);
            CHECK(target.rfind("brokerclient::", 0) == 0);
        }
        bool levels_ok = true;
        for (auto &ev : log->events) levels_ok = levels_ok && std::get<0>(ev) <= bc::LogLevel::Info;
        CHECK(levels_ok);
    }
    // Removal destroys the callback before it returns; nothing arrives afterwards.
    CHECK(!released->is_set());
    bc::clear_log_callback();
    CHECK(released->is_set());
    size_t seen = [&] {
        std::lock_guard<std::mutex> l(log->m);
        return log->events.size();
    }();
    {
        bc::Client lc(g_env.broker, &cfg);
        lc.connect();
    }
    // Replacing destroys the previous callback too; the new one receives the next connect.
    auto r1 = std::make_shared<Latch>(), r2 = std::make_shared<Latch>();
    auto second = std::make_shared<Latch>();
    bc::set_log_callback(bc::LogLevel::Warn, [token = lifetime_token(r1)](const bc::LogEvent &) {});
    bc::set_log_callback(bc::LogLevel::Debug, [second, token = lifetime_token(r2)](const bc::LogEvent &e) {
        if (e.message == "connected") second->set();
    });
    CHECK(r1->is_set() && !r2->is_set());
    {
        bc::Client lc(g_env.broker, &cfg);
        lc.connect();
        CHECK(second->wait(30s));
    }
    bc::set_log_callback(bc::LogLevel::Info, nullptr);  // an empty function removes it
    CHECK(r2->is_set());
    std::lock_guard<std::mutex> l(log->m);
    CHECK(log->events.size() == seen);
}

// ---------------------------------------------------------------------------------------------
// Manager
// ---------------------------------------------------------------------------------------------

void test_manager(const bc::Client &client) {
    const std::string topic = unique("cpp_mgr");
    client.create_topic(topic, 4);
    const std::string pg = unique("cpp_mpg"), cg = unique("cpp_mcg");
    const std::string &name = g_env.broker_name, &addr = g_env.broker;
    bc::Config cfg = test_config();

    bc::Manager m = bc::Manager::from_name_servers(g_env.namesrv, &cfg);
    m.start();
    auto st = await_result<void>([&](auto cb) { m.start_async(cb); });
    CHECK(st.ok());
    std::set<std::string> brokers;
    Json listed = Json::parse(m.brokers());
    for (auto &b : listed.arr()) brokers.insert(b.str());
    CHECK_MSG(brokers.count(addr), m.brokers());
    CHECK(m.broker_state(addr) == bc::BrokerState::Healthy);
    CHECK(m.broker_state(name) == bc::BrokerState::Healthy);
    CHECK(m.broker_state("127.0.0.1:1") == bc::BrokerState::Unknown);
    CHECK(m.broker_state(std::string_view("a\0b", 3)) == bc::BrokerState::Unknown);

    CHECK(broker_name_of(m.get_cluster_info(), addr) == name);
    auto ci = await_result<std::string>([&](auto cb) { m.get_cluster_info_async(cb); });
    CHECK(ci.ok() && broker_name_of(ci.value(), addr) == name);
    CHECK(contains(m.get_route_info(topic), name));
    auto ri = await_result<std::string>([&](auto cb) { m.get_route_info_async(topic, cb); });
    CHECK(ri.ok() && !Json::parse(ri.value())["queueDatas"].arr().empty());

    // Send, then pull it back by broker name and by address.
    const std::string text = "through the manager " + unique("m");
    bc::SendResult s = m.send(pg, bc::Message(topic, text).tags("m"));
    CHECK(s.queue_id >= 0 && s.queue_offset >= 0);
    bc::Batch b = m.pull(name, cg, topic, s.queue_id, s.queue_offset, 32, 2000);
    CHECK(b.size() >= 1 && b[0].body() == text && b[0].msg_id() == s.msg_id && b[0].tags() == "m");
    auto pa = await_result<bc::Batch>([&](auto cb) { m.pull_async(addr, cg, topic, s.queue_id, s.queue_offset, 32, 0, "m", cb); });
    CHECK(pa.ok() && pa.value().size() >= 1 && pa.value()[0].body() == text);
    bc::CancelToken keep;
    auto pc = await_result<bc::Batch>([&](auto cb) {
        m.pull_async(name, cg, topic, s.queue_id, s.queue_offset, 1, 0, "*", keep, cb);
    });
    CHECK(pc.ok() && pc.value().size() == 1);

    // Offsets.
    CHECK(m.get_max_offset(name, topic, s.queue_id) == s.queue_offset + 1);
    auto mx = await_result<int64_t>([&](auto cb) { m.get_max_offset_async(addr, topic, s.queue_id, cb); });
    CHECK(mx.ok() && mx.value() == s.queue_offset + 1);
    m.heartbeat(pg, cg);
    auto hb = await_result<void>([&](auto cb) { m.heartbeat_async("", cg, cb); });
    CHECK(hb.ok());
    bc::Heartbeat data;
    data.consumer(cg, bc::ConsumeType::Actively).subscribe(cg, topic, "*").producer(pg);
    m.send_heartbeat(data);
    auto hbd = await_result<void>([&](auto cb) { m.send_heartbeat_async(data, cb); });
    CHECK(hbd.ok());
    EXPECT_ERROR(BC_ERR_INVALID_ARG, m.send_heartbeat(bc::Heartbeat()));
    m.update_consumer_offset(name, cg, topic, s.queue_id, s.queue_offset + 1);
    CHECK(m.query_consumer_offset(name, cg, topic, s.queue_id) == s.queue_offset + 1);
    auto up = await_result<void>([&](auto cb) { m.update_consumer_offset_async(addr, cg, topic, s.queue_id, s.queue_offset, cb); });
    CHECK(up.ok());
    auto q = await_result<int64_t>([&](auto cb) { m.query_consumer_offset_async(addr, cg, topic, s.queue_id, cb); });
    CHECK(q.ok() && q.value() == s.queue_offset);

    // The other sends.
    auto sa = await_result<bc::SendResult>([&](auto cb) { m.send_async(pg, bc::Message(topic, "m async"), cb); });
    CHECK(sa.ok() && sa.value().queue_offset >= 0);
    auto sc = await_result<bc::SendResult>([&](auto cb) { m.send_async(pg, bc::Message(topic, "m token"), keep, cb); });
    CHECK(sc.ok());
    std::vector<bc::Message> batch;
    batch.emplace_back(topic, "mb 0");
    batch.emplace_back(topic, "mb 1");
    bc::SendResult bs = m.send_batch(pg, batch);
    CHECK(bs.queue_id >= 0);
    std::vector<std::string> back;
    for (int64_t off = bs.queue_offset, round = 0; round < 10 && back.size() < 2; round++) {
        bc::Batch got = m.pull(addr, cg, topic, bs.queue_id, off, int32_t(2 - back.size()), 2000);
        for (const bc::MessageView v : got) back.emplace_back(v.body());
        off = got.next_offset();
    }
    CHECK(back == std::vector<std::string>({"mb 0", "mb 1"}));
    std::vector<const bc::Message *> ptrs{&batch[1]};
    CHECK(m.send_batch(pg, ptrs).queue_offset >= 0);
    auto ba = await_result<bc::SendResult>([&](auto cb) { m.send_batch_async(pg, batch, cb); });
    CHECK(ba.ok());
    auto bp = await_result<bc::SendResult>([&](auto cb) { m.send_batch_async(pg, ptrs, cb); });
    CHECK(bp.ok());

    // PullRequests through the manager.
    bc::PullRequest req(cg, topic, s.queue_id, s.queue_offset);
    req.max_messages(1).expression("m");
    bc::Batch rb = m.pull(name, req);
    CHECK(rb.size() == 1 && rb[0].body() == text);
    auto rpa = await_result<bc::Batch>([&](auto cb) { m.pull_async(addr, req, cb); });
    CHECK(rpa.ok() && rpa.value().size() == 1 && rpa.value()[0].msg_id() == s.msg_id);
    auto rpc = await_result<bc::Batch>([&](auto cb) { m.pull_async(name, req, keep, cb); });
    CHECK(rpc.ok() && rpc.value().size() == 1);

    // A Client on the manager's pool, and a manager handle with its own deadline.
    {
        bc::Client mc = m.client(name);
        CHECK(mc.get_max_offset(topic, s.queue_id) >= s.queue_offset + 1);
        bc::SendResult ms = mc.send(pg, bc::Message(topic, "through the pool"), s.queue_id);
        CHECK(ms.queue_id == s.queue_id && ms.queue_offset > s.queue_offset);
        auto mo = await_result<int64_t>([&](auto cb) { mc.get_min_offset_async(topic, s.queue_id, cb); });
        CHECK(mo.ok() && mo.value() == 0);
        bc::Batch mb = mc.view_message(ms.offset_msg_id);
        CHECK(mb.size() == 1 && mb[0].body() == "through the pool");
        EXPECT_ERROR(BC_ERR_INVALID_ARG, m.client("no-such-broker"));
        bc::Manager mt = m.with_timeout(5000);
        CHECK(mt.send(pg, bc::Message(topic, "manager with a deadline")).queue_offset >= 0);
        CHECK(mt.get_max_offset(name, topic, s.queue_id) >= ms.queue_offset + 1);
        EXPECT_ERROR(BC_ERR_INVALID_ARG, m.with_timeout(0));
    }

    // Metrics.
    Json stats = Json::parse(m.stats_json());
    bool found = false;
    for (auto &br : stats["brokers"].arr()) {
        if (br["addr"].str() != addr) continue;
        found = true;
        CHECK(br["state"].str() == "healthy" && br["name"].str() == name && br["requests"].num() >= 8);
    }
    CHECK(found);

    // Adding a known broker returns its address (by name too); removing an unknown one fails.
    CHECK(m.add_broker(name) == addr);
    auto ab = await_result<std::string>([&](auto cb) { m.add_broker_async(addr, cb); });
    CHECK(ab.ok() && ab.value() == addr);
    auto rm = EXPECT_ERROR(BC_ERR_INVALID_ARG, m.remove_broker("127.0.0.1:1", 0));
    if (rm) CHECK(contains(rm->message(), "127.0.0.1:1"));
    EXPECT_ERROR(BC_ERR_CONNECTION, m.pull("no-such-broker", cg, topic, 0, 0, 1));

    m.close(1000);
    EXPECT_ERROR(BC_ERR_CLOSED, m.send(pg, bc::Message(topic, "closed")));
    EXPECT_ERROR(BC_ERR_CLOSED, m.send_async(pg, bc::Message(topic, "closed"), [](bc::Result<bc::SendResult>) {}));

    // A manager without name servers: brokers added and removed by address.
    bc::Manager pm(&cfg);
    CHECK(Json::parse(pm.brokers()).arr().empty());
    CHECK(pm.add_broker(addr) == addr);
    auto ps = await_result<void>([&](auto cb) { pm.start_async(cb); });
    CHECK(ps.ok());
    CHECK(pm.get_max_offset(addr, topic, s.queue_id) >= s.queue_offset + 1);
    pm.remove_broker(addr, 100);
    CHECK(Json::parse(pm.brokers()).arr().empty());
    CHECK(pm.broker_state(addr) == bc::BrokerState::Unknown);
    auto pa2 = await_result<std::string>([&](auto cb) { pm.add_broker_async(addr, cb); });
    CHECK(pa2.ok() && pa2.value() == addr);
    auto pr = await_result<void>([&](auto cb) { pm.remove_broker_async(addr, 100, cb); });
    CHECK(pr.ok());
    CHECK(Json::parse(pm.brokers()).arr().empty());
    bc::Manager moved = std::move(pm);
    CHECK(pm.native() == nullptr && moved.native() != nullptr);
}

void test_close(bc::Client &client, const std::string &topic) {
    client.close(2000);
    client.close(0);  // twice: harmless
    EXPECT_ERROR(BC_ERR_CLOSED, client.send("cpp_pg", bc::Message(topic, "closed"), 0));
    bool called = false;
    EXPECT_ERROR(BC_ERR_CLOSED, client.pull_async("cpp_cg", topic, 0, 0, 1, 0, "*", [&](bc::Result<bc::Batch>) { called = true; }));
    CHECK(!called);
}

}  // namespace

int main() {
    g_env.broker = env_or("BC_BROKER_ADDR", "127.0.0.1:10911");
    g_env.namesrv = env_or("BC_NAMESRV_ADDR", "127.0.0.1:9876");
    std::cout << "test_cpp: libbrokerclient " << bc::version() << ", broker " << g_env.broker << ", name server "
              << g_env.namesrv << std::endl;

    // The broker and the name server are required: no broker, no test.
    bc::Config cfg = test_config();
    std::optional<bc::Client> client;
    std::string topic = unique("cpp_test");
    try {
        client.emplace(g_env.broker, &cfg);
        client->connect();
        bc::Client ns(g_env.namesrv, &cfg);
        g_env.broker_name = broker_name_of(ns.get_cluster_info(), g_env.broker);
        if (g_env.broker_name.empty()) throw std::runtime_error("the name server does not list " + g_env.broker);
        g_env.real = g_env.broker_name != "mock-broker";
        client->create_topic(topic, 4);
    } catch (const std::exception &e) {
        std::cerr << "test_cpp: no broker at " << g_env.broker << " / name server at " << g_env.namesrv << ": "
                  << e.what() << "\n";
        std::cout << "test_cpp: " << g_passed << " passed, " << g_failed + 1 << " failed" << std::endl;
        return 1;
    }
    std::cout << "broker " << g_env.broker_name << (g_env.real ? "" : " (the mock broker)") << std::endl;

    section("basics", test_basics);
    section("errors", [&] { test_errors(*client, topic); });
    section("client: send and pull", [&] { test_client_send_pull(*client, topic); });
    section("client: offsets and times", [&] { test_client_offsets(*client, topic); });
    section("client: groups, send-back, queue locks", [&] { test_client_groups(topic); });
    section("client: transactions", [&] { test_client_transactions(*client, topic); });
    section("client: name server", [&] { test_client_namesrv(topic); });
    section("cancel tokens", [&] { test_cancel(*client, topic); });
    section("queue mode", [&] { test_queue_mode(topic); });
    section("logging", test_logging);
    section("manager", [&] { test_manager(*client); });
    section("close", [&] { test_close(*client, topic); });

    std::cout << "test_cpp: " << g_passed << " passed, " << g_failed << " failed" << std::endl;
    return g_failed == 0 ? 0 : 1;
}
