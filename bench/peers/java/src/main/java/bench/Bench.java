// The official Java client in `make bench` (issue 8): one workload per process, one JSON line
// in the common schema of bench/README.md, after a JIT warm-up of the same workload.
//   java -jar bench-java.jar <workload> <namesrv> <mock|real> <messages> <run>
// workloads: sync1 sync16 oneway async1024 batch32 pull
package bench;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;
import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.SendCallback;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageQueue;

public final class Bench {
    static final String TOPIC = "BenchTopic";
    static final int BODY = 1024;

    interface Op { void run() throws Exception; }

    static long cpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean())
                .getProcessCpuTime();
    }

    static long peakRssKb() {
        try {
            for (String l : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (l.startsWith("VmHWM:")) return Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        } catch (Exception e) {
            // not Linux: reported as 0
        }
        return 0;
    }

    static Message msg() {
        byte[] b = new byte[BODY];
        java.util.Arrays.fill(b, (byte) 'x');
        return new Message(TOPIC, b);
    }

    static long elapsedNs, cpuNs;

    static Histogram measure(int threads, long warm, long calls, Op op) throws Exception {
        for (long i = 0; i < warm; i++) op.run();
        Recorder rec = new Recorder(3);
        Thread[] ts = new Thread[threads];
        Exception[] failure = new Exception[1];
        long c0 = cpuNanos(), t0 = System.nanoTime();
        for (int t = 0; t < threads; t++) {
            long mine = calls / threads + (t < calls % threads ? 1 : 0);
            ts[t] = new Thread(() -> {
                try {
                    for (long i = 0; i < mine; i++) {
                        long s = System.nanoTime();
                        op.run();
                        rec.recordValue(System.nanoTime() - s);
                    }
                } catch (Exception e) {
                    failure[0] = e;
                }
            });
            ts[t].start();
        }
        for (Thread t : ts) t.join();
        elapsedNs = System.nanoTime() - t0;
        cpuNs = cpuNanos() - c0;
        if (failure[0] != null) throw failure[0];
        return rec.getIntervalHistogram();
    }

    static Histogram async(DefaultMQProducer p, long total, boolean record) throws Exception {
        Semaphore window = new Semaphore(1024);
        CountDownLatch done = new CountDownLatch((int) total);
        Recorder rec = new Recorder(3);
        long c0 = cpuNanos(), t0 = System.nanoTime();
        for (long i = 0; i < total; i++) {
            window.acquire();
            long s = System.nanoTime();
            p.send(msg(), new SendCallback() {
                public void onSuccess(SendResult r) {
                    if (record) rec.recordValue(System.nanoTime() - s);
                    window.release();
                    done.countDown();
                }

                public void onException(Throwable e) {
                    System.err.println("java: async send: " + e + " cause: " + e.getCause() + (e.getCause() != null ? " / " + e.getCause().getCause() : ""));
                    System.exit(1);
                }
            });
        }
        done.await();
        elapsedNs = System.nanoTime() - t0;
        cpuNs = cpuNanos() - c0;
        return rec.getIntervalHistogram();
    }

    public static void main(String[] args) throws Exception {
        String workload = args[0], ns = args[1], broker = args[2];
        long n = Long.parseLong(args[3]);
        int run = Integer.parseInt(args[4]);
        // JIT warm-up: the workload itself, long enough for C2 to compile the send path.
        long warm = Math.max(n / 5, 2000);
        DefaultMQProducer p = new DefaultMQProducer("bench_producer_java");
        p.setNamesrvAddr(ns);
        p.setRetryTimesWhenSendFailed(0);
        p.setRetryTimesWhenSendAsyncFailed(0);
        p.setSendMsgTimeout(60_000); // async1024 queues behind the client's own executor
        p.setInstanceName("bench" + ProcessHandle.current().pid());
        p.start();
        Message m = msg();
        Histogram h;
        long msgs = n;
        switch (workload) {
            case "sync1": h = measure(1, warm, n, () -> p.send(msg())); break;
            case "sync16": h = measure(16, warm, n, () -> p.send(msg())); break;
            case "oneway": h = measure(1, warm, n, () -> p.sendOneway(msg())); break;
            case "batch32": {
                h = measure(1, warm / 32 + 50, n / 32, () -> {
                    List<Message> b = new ArrayList<>(32);
                    for (int i = 0; i < 32; i++) b.add(msg());
                    p.send(b);
                });
                msgs = n / 32 * 32;
                break;
            }
            case "async1024": async(p, Math.max(warm, 4096), false); h = async(p, n, true); break;
            case "pull": {
                long[] got = new long[1];
                h = pull(p, ns, warm, n, got);
                msgs = got[0];
                break;
            }
            default: throw new IllegalArgumentException("workload " + workload);
        }
        double secs = elapsedNs / 1e9;
        boolean lat = h.getTotalCount() > 0;
        System.out.println(String.format(Locale.ROOT,
                "{\"client\":\"java-official\",\"lang\":\"java\",\"workload\":\"%s\",\"broker\":\"%s\","
                        + "\"run\":%d,\"messages\":%d,\"seconds\":%.6f,\"msgs_per_s\":%.1f,\"mb_per_s\":%.3f,"
                        + "\"p50_us\":%s,\"p99_us\":%s,\"p999_us\":%s,\"cpu_us_per_msg\":%.4f,"
                        + "\"peak_rss_kb\":%d,\"allocs_per_msg\":null}",
                workload, broker, run, msgs, secs, msgs / secs, msgs * (double) BODY / secs / 1e6,
                lat ? h.getValueAtPercentile(50) / 1000.0 : "null",
                lat ? h.getValueAtPercentile(99) / 1000.0 : "null",
                lat ? h.getValueAtPercentile(99.9) / 1000.0 : "null",
                cpuNs / 1000.0 / msgs, peakRssKb()));
        p.shutdown();
        System.exit(0);
    }

    /** Fills queue 1 with batches, then pulls 32-message batches from its start, over again. */
    @SuppressWarnings("deprecation")
    static Histogram pull(DefaultMQProducer p, String ns, long warm, long n, long[] got) throws Exception {
        DefaultMQPullConsumer c = new DefaultMQPullConsumer("bench_consumer_java");
        c.setNamesrvAddr(ns);
        c.setInstanceName("benchc" + ProcessHandle.current().pid());
        c.start();
        MessageQueue mq = null;
        for (MessageQueue q : c.fetchSubscribeMessageQueues(TOPIC)) {
            if (q.getQueueId() == 1) mq = q;
        }
        List<Message> b = new ArrayList<>(32);
        for (int i = 0; i < 32; i++) b.add(msg());
        long fill = Math.min(n, 8192);
        for (long i = 0; i < (fill + 31) / 32; i++) p.send(b, mq);
        long max = c.maxOffset(mq);
        long start = Math.max(max - fill, c.minOffset(mq));
        final MessageQueue q = mq;
        long[] offset = {start};
        Op one = () -> {
            PullResult r = c.pull(q, "*", offset[0], 32);
            int k = r.getMsgFoundList() == null ? 0 : r.getMsgFoundList().size();
            got[0] += k;
            offset[0] = (k == 0 || r.getNextBeginOffset() >= max) ? start : r.getNextBeginOffset();
        };
        for (long i = 0; i < warm / 32 + 50; i++) one.run();
        got[0] = 0;
        Recorder rec = new Recorder(3);
        long c0 = cpuNanos(), t0 = System.nanoTime();
        while (got[0] < n) {
            long s = System.nanoTime();
            one.run();
            rec.recordValue(System.nanoTime() - s);
        }
        elapsedNs = System.nanoTime() - t0;
        cpuNs = cpuNanos() - c0;
        c.shutdown();
        return rec.getIntervalHistogram();
    }
}
