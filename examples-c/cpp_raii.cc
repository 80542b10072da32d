/*
 * cpp_raii.cc - the C++ RAII wrapper (bindings/cpp/brokerclient.hpp) against a real broker.
 *
 * Connects to $BC_BROKER_ADDR (default 127.0.0.1:10911), creates the topic
 * "BrokerClientCppRaii" (4 queues), then:
 *   1. sends a message (tag, keys, property) and pulls it back from the returned offset;
 *   2. shows errors as exceptions (an empty body is refused with BC_ERR_INVALID_ARG);
 *   3. async send on library threads, turned into a std::future with a std::promise;
 *   4. queue mode: 100 async sends whose callbacks run on this thread inside
 *      Queue::dispatch(), checked exactly once each, then an async pull of them;
 *   5. an exception thrown by a callback comes out of Queue::dispatch();
 *   6. a graceful close. Every handle is freed by its destructor.
 * Exits 0 and prints "cpp_raii: OK" on success; any failure exits 1.
 *
 * Build (from the repository root, after `cargo build`; the wrapper needs C++20):
 *   g++ -std=c++20 -Wall -Wextra -Werror -pedantic -Iinclude -Ibindings/cpp \
 *       examples-c/cpp_raii.cc -Ltarget/debug -lbrokerclient -Wl,-rpath,$PWD/target/debug \
 *       -o cpp_raii
 */
#include <chrono>
#include <cstdlib>
#include <future>
#include <iostream>
#include <map>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "brokerclient.hpp"

namespace bc = brokerclient;

namespace {

const std::string kTopic = "BrokerClientCppRaii";
const std::string kProducer = "cpp_raii_producer";
const std::string kConsumer = "cpp_raii_consumer";

[[noreturn]] void fail(const std::string &what) { throw std::runtime_error(what); }

void expect(bool ok, const std::string &what) {
    if (!ok) fail("check failed: " + what);
}

std::string unique_tag() {
    auto now = std::chrono::system_clock::now().time_since_epoch();
    return std::to_string(std::chrono::duration_cast<std::chrono::microseconds>(now).count());
}

/// Callback -> future: the wrapper's async functions take callbacks; a promise adapts them.
/// (Only for clients without a Queue: in queue mode the callback runs inside dispatch(), so
/// waiting on the future without dispatching would never finish.)
std::future<bc::SendResult> send_future(const bc::Client &client, const bc::Message &msg,
                                        int32_t queue_id) {
    auto promise = std::make_shared<std::promise<bc::SendResult>>();
    auto future = promise->get_future();
    client.send_async(kProducer, msg, queue_id, [promise](bc::Result<bc::SendResult> r) {
        if (r)
            promise->set_value(std::move(r).value());
        else
            promise->set_exception(std::make_exception_ptr(r.error()));
    });
    return future;
}

/// Pulls from `offset` (long polling covers the store's short delay) until `want` messages
/// arrived or a few rounds passed.
std::vector<std::string> pull_bodies(const bc::Client &client, int32_t queue_id, int64_t offset,
                                     size_t want) {
    std::vector<std::string> bodies;
    for (int round = 0; round < 6 && bodies.size() < want; round++) {
        bc::Batch b = client.pull(kConsumer, kTopic, queue_id, offset, 32, 3000);
        expect(b.status() != bc::PullStatus::OffsetIllegal, "pull offset is legal");
        for (const bc::MessageView m : b) bodies.emplace_back(m.body());
        offset = b.next_offset();
    }
    return bodies;
}

void run(const std::string &addr) {
    expect(bc::library_matches_header(), "library version == header version");
    std::cout << "libbrokerclient " << bc::version() << ", broker " << addr << "\n";

    bc::Config config;
    config.set("request.timeout.ms", "5000");
    bc::Client client(addr, &config);
    client.connect();
    client.create_topic(kTopic, 4);
    std::cout << "topic " << kTopic << " ready\n";

    // 1. Blocking send and pull back.
    const std::string tag = unique_tag();
    const std::string body = "Hello from C++ (" + tag + ")";
    bc::Message msg(kTopic, body);
    msg.tags("raii").keys("key-" + tag).property("origin", "cpp_raii");
    bc::SendResult sent = client.send(kProducer, msg, 0);
    std::cout << "sent: msg_id=" << sent.msg_id << " queue=" << sent.queue_id
              << " offset=" << sent.queue_offset << "\n";
    expect(sent.status == bc::SendStatus::Ok && sent.queue_id == 0 && sent.queue_offset >= 0,
           "send result");

    bool found = false;
    for (int round = 0; round < 6 && !found; round++) {
        bc::Batch batch = client.pull(kConsumer, kTopic, 0, sent.queue_offset, 8, 3000);
        for (size_t i = 0; i < batch.size(); i++) {
            bc::MessageView m = batch[i];
            if (m.queue_offset() != sent.queue_offset) continue;
            expect(m.body() == body, "pulled body");
            expect(m.tags() == "raii", "pulled tags");
            expect(m.keys() == "key-" + tag, "pulled keys");
            expect(m.topic() == kTopic, "pulled topic");
            expect(m.msg_id() == sent.msg_id, "pulled msg id");
            auto origin = batch.property(i, "origin");
            expect(origin && *origin == "cpp_raii", "pulled property");
            expect(!batch.property(i, "no-such-property"), "absent property");
            std::cout << "pulled: offset=" << m.queue_offset() << " body=\"" << m.body() << "\"\n";
            found = true;
        }
    }
    expect(found, "the sent message was pulled back");

    // 2. Errors are exceptions carrying the C error's details.
    try {
        bc::Message empty(kTopic, "");
        client.send(kProducer, empty, 0);
        fail("an empty body was accepted");
    } catch (const bc::Error &e) {
        std::cout << "expected error: " << e.what() << " (retriable=" << e.retriable() << ")\n";
        expect(e.status() == BC_ERR_INVALID_ARG, "empty body -> BC_ERR_INVALID_ARG");
        expect(std::string(e.status_name()) == "BC_ERR_INVALID_ARG", "status name");
        expect(!e.retriable() && !e.fatal() && e.response_code() == 0, "error details");
    }
    try {
        bc::Config bad;
        bad.set("no.such.key", "1");
        fail("an unknown config key was accepted");
    } catch (const bc::Error &e) {
        expect(e.status() == BC_ERR_INVALID_ARG, "unknown key -> BC_ERR_INVALID_ARG");
    }

    // 3. Async send on library threads, as a future.
    bc::Message async_msg(kTopic, "async " + tag);
    std::future<bc::SendResult> fut = send_future(client, async_msg, 1);
    expect(fut.wait_for(std::chrono::seconds(10)) == std::future_status::ready, "future ready in 10 s");
    bc::SendResult async_sent = fut.get();  // rethrows bc::Error on failure
    expect(async_sent.queue_id == 1 && async_sent.queue_offset >= 0, "async send result");
    std::cout << "async (future): queue=" << async_sent.queue_id << " offset=" << async_sent.queue_offset
              << "\n";

    // 4. Queue mode: callbacks run here, inside dispatch().
    {
        bc::Queue queue;
        bc::Client qclient(addr, queue, &config);
        const std::thread::id me = std::this_thread::get_id();
        constexpr int kSends = 100;
        std::map<int, int> calls;  // send index -> callbacks seen (no lock: this thread only)
        std::set<int64_t> offsets;
        int failures = 0;
        for (int i = 0; i < kSends; i++) {
            bc::Message m(kTopic, "queued " + tag + " #" + std::to_string(i));
            qclient.send_async(kProducer, m, 2, [&, i, me](bc::Result<bc::SendResult> r) {
                expect(std::this_thread::get_id() == me, "queue-mode callback on the dispatching thread");
                calls[i]++;
                if (r)
                    offsets.insert(r.value().queue_offset);
                else
                    failures++, std::cerr << "send #" << i << ": " << r.error().what() << "\n";
            });
        }
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
        size_t delivered = 0;
        while (delivered < kSends && std::chrono::steady_clock::now() < deadline) {
            queue.wait(200);
            delivered += queue.dispatch();
        }
        expect(delivered == kSends, "every queued callback delivered");
        expect(failures == 0, "every queued send succeeded");
        expect(calls.size() == kSends, "one entry per send");
        for (auto &[i, n] : calls) expect(n == 1, "send #" + std::to_string(i) + " called back exactly once");
        expect(offsets.size() == kSends, "distinct offsets");
        std::cout << "queue mode: " << kSends << " callbacks, each exactly once, on this thread\n";

        // Async pull in queue mode; the callback owns the Batch.
        std::vector<std::string> pulled;
        int64_t from = *offsets.begin();
        bool pull_done = false;
        for (int round = 0; round < 6 && pulled.size() < kSends; round++) {
            pull_done = false;
            qclient.pull_async(kConsumer, kTopic, 2, from, 32, 3000, "*", [&](bc::Result<bc::Batch> r) {
                pull_done = true;
                bc::Batch b = std::move(r).value();  // throws the Error: carried out of dispatch()
                for (const bc::MessageView m : b)
                    if (m.body().find(tag) != std::string_view::npos) pulled.emplace_back(m.body());
                from = b.next_offset();
            });
            while (!pull_done) {
                queue.wait(1000);
                queue.dispatch();
            }
        }
        expect(pulled.size() == kSends, "the queued sends pulled back (" + std::to_string(pulled.size()) + ")");
        std::cout << "queue mode: pulled " << pulled.size() << " messages back asynchronously\n";

        // 5. A throwing callback: the exception comes out of dispatch().
        bool threw = false;
        qclient.connect_async([](bc::Result<void> r) {
            r.value();
            throw std::runtime_error("thrown by a callback");
        });
        try {
            for (int i = 0; i < 10 && queue.wait(1000) == 0; i++) {
            }
            queue.dispatch();
        } catch (const std::runtime_error &e) {
            threw = std::string(e.what()) == "thrown by a callback";
        }
        expect(threw, "a callback's exception is rethrown by Queue::dispatch");

        // 6. Graceful close; the destructors free the client, then the queue.
        qclient.close(5000);
        try {
            qclient.send_async(kProducer, msg, 0, [](bc::Result<bc::SendResult>) {
                std::cerr << "a refused send must never call back\n";
                std::abort();
            });
            fail("a closed client accepted a send");
        } catch (const bc::Error &e) {
            expect(e.status() == BC_ERR_CLOSED, "send after close -> BC_ERR_CLOSED");
        }
    }

    // Move-only handles: moving transfers ownership; the moved-from object is empty.
    bc::Client moved = std::move(client);
    expect(client.native() == nullptr && moved.native() != nullptr, "move transfers the handle");
    expect(pull_bodies(moved, 1, async_sent.queue_offset, 1).at(0) == "async " + tag, "async message stored");
    moved.close(5000);
}

}  // namespace

int main() {
    const char *env = std::getenv("BC_BROKER_ADDR");
    const std::string addr = env && *env ? env : "127.0.0.1:10911";
    try {
        run(addr);
    } catch (const bc::Error &e) {
        std::cerr << "cpp_raii: " << e.what() << " (response code " << e.response_code() << ", remark \""
                  << e.remark() << "\", broker \"" << e.broker_addr() << "\", retriable " << e.retriable()
                  << ")\n";
        return 1;
    } catch (const std::exception &e) {
        std::cerr << "cpp_raii: " << e.what() << "\n";
        return 1;
    }
    std::cout << "cpp_raii: OK\n";
    return 0;
}
