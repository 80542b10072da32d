package interop;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.apache.rocketmq.client.consumer.DefaultMQPullConsumer;
import org.apache.rocketmq.client.consumer.PullResult;
import org.apache.rocketmq.client.consumer.PullStatus;
import org.apache.rocketmq.client.producer.DefaultMQProducer;
import org.apache.rocketmq.client.producer.LocalTransactionState;
import org.apache.rocketmq.client.producer.SendResult;
import org.apache.rocketmq.client.producer.TransactionListener;
import org.apache.rocketmq.client.producer.TransactionMQProducer;
import org.apache.rocketmq.common.message.Message;
import org.apache.rocketmq.common.message.MessageClientIDSetter;
import org.apache.rocketmq.common.message.MessageConst;
import org.apache.rocketmq.common.message.MessageExt;
import org.apache.rocketmq.common.message.MessageQueue;

/**
 * The official Java client's side of tests/interop_java.rs. Prints one JSON object per line
 * on stdout; everything else (the client's own logging) goes elsewhere.
 *
 * <pre>
 * consume NAMESRV TOPIC GROUP COUNT TIMEOUT_MS   every queue of TOPIC from offset 0, until
 *                                               COUNT messages or the timeout
 * produce NAMESRV TOPIC GROUP                   the messages of produce() below
 * </pre>
 */
public final class Interop {
    private Interop() {
    }

    public static void main(String[] args) {
        // The client's non-daemon threads would keep the JVM alive after main, also after an
        // exception: every way out ends in System.exit.
        try {
            if (args.length == 6 && args[0].equals("consume")) {
                consume(args[1], args[2], args[3], Integer.parseInt(args[4]), Long.parseLong(args[5]));
            } else if (args.length == 4 && args[0].equals("produce")) {
                produce(args[1], args[2], args[3]);
            } else {
                System.err.println("usage: consume NAMESRV TOPIC GROUP COUNT TIMEOUT_MS | produce NAMESRV TOPIC GROUP");
                System.exit(2);
            }
        } catch (Throwable t) {
            t.printStackTrace();
            System.exit(1);
        }
        System.exit(0);
    }

    /** Generous client timeouts: CI machines are small and busy. */
    static void patient(org.apache.rocketmq.client.ClientConfig c) {
        c.setMqClientApiTimeout(15000);
    }

    /**
     * The classic pull consumer (PULL_MESSAGE, code 11): the lite-pull consumer of the 5.x
     * client uses LITE_PULL_MESSAGE (361), which 4.x brokers do not know.
     */
    @SuppressWarnings("deprecation")
    static void consume(String namesrv, String topic, String group, int count, long timeoutMs) throws Exception {
        DefaultMQPullConsumer consumer = new DefaultMQPullConsumer(group);
        consumer.setNamesrvAddr(namesrv);
        patient(consumer);
        consumer.start();
        Map<MessageQueue, Long> offsets = new HashMap<>();
        for (MessageQueue mq : consumer.fetchSubscribeMessageQueues(topic)) {
            offsets.put(mq, 0L);
        }
        long deadline = System.currentTimeMillis() + timeoutMs;
        int seen = 0;
        while (seen < count && System.currentTimeMillis() < deadline) {
            boolean found = false;
            for (Map.Entry<MessageQueue, Long> e : offsets.entrySet()) {
                PullResult r = consumer.pull(e.getKey(), "*", e.getValue(), 32, 15000);
                if (r.getPullStatus() == PullStatus.FOUND) {
                    for (MessageExt m : r.getMsgFoundList()) {
                        System.out.println(json(m));
                        seen++;
                    }
                    found = true;
                }
                e.setValue(r.getNextBeginOffset());
            }
            if (!found) {
                Thread.sleep(100); // the delayed message is not there yet
            }
        }
        System.out.flush();
        consumer.shutdown();
        if (seen < count) {
            System.err.println("interop: only " + seen + " of " + count + " messages within " + timeoutMs + " ms");
            System.exit(3);
        }
    }

    static void produce(String namesrv, String topic, String group) throws Exception {
        DefaultMQProducer producer = new DefaultMQProducer(group);
        producer.setNamesrvAddr(namesrv);
        producer.setSendMsgTimeout(15000);
        patient(producer);
        producer.start();
        MessageQueue q0 = null;
        for (MessageQueue mq : producer.fetchPublishMessageQueues(topic)) {
            if (mq.getQueueId() == 0) {
                q0 = mq;
                break;
            }
        }
        if (q0 == null) {
            throw new IllegalStateException("topic " + topic + " has no queue 0");
        }

        Message plain = new Message(topic, "TagJ", "jk1 jk2", "from java".getBytes(StandardCharsets.UTF_8));
        plain.putUserProperty("color", "green");
        plain.putUserProperty("unicode", "Grüße ✓");
        print("plain", producer.send(plain, q0));

        Message delayed = new Message(topic, "TagD", "jdelay", "delayed from java".getBytes(StandardCharsets.UTF_8));
        delayed.setDelayTimeLevel(1);
        print("delayed", producer.send(delayed, q0));

        // Above compressMsgBodyOverHowmuch (4 KiB): the Java client zlib-compresses the body.
        byte[] big = new byte[20000];
        for (int i = 0; i < big.length; i++) {
            big[i] = (byte) ('a' + i % 26);
        }
        print("compressed", producer.send(new Message(topic, "TagZ", "jbig", big), q0));

        List<Message> batch = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Message m = new Message(topic, "TagB", "jb" + i, ("batch " + i).getBytes(StandardCharsets.UTF_8));
            batch.add(m);
        }
        print("batch", producer.send(batch, q0));
        producer.shutdown();

        TransactionMQProducer tx = new TransactionMQProducer(group + "_tx");
        tx.setNamesrvAddr(namesrv);
        tx.setSendMsgTimeout(15000);
        patient(tx);
        tx.setTransactionListener(new TransactionListener() {
            @Override
            public LocalTransactionState executeLocalTransaction(Message msg, Object arg) {
                return "commit".equals(arg) ? LocalTransactionState.COMMIT_MESSAGE : LocalTransactionState.ROLLBACK_MESSAGE;
            }

            @Override
            public LocalTransactionState checkLocalTransaction(MessageExt msg) {
                return LocalTransactionState.COMMIT_MESSAGE;
            }
        });
        tx.start();
        print("tx-commit", tx.sendMessageInTransaction(
            new Message(topic, "TagT", "jtx", "committed from java".getBytes(StandardCharsets.UTF_8)), "commit"));
        print("tx-rollback", tx.sendMessageInTransaction(
            new Message(topic, "TagT", "jtx-rb", "rolled back from java".getBytes(StandardCharsets.UTF_8)), "rollback"));
        tx.shutdown();
    }

    static void print(String label, SendResult r) {
        System.out.println("{\"sent\":" + str(label)
            + ",\"status\":" + str(r.getSendStatus().name())
            + ",\"msgId\":" + str(r.getMsgId())
            + ",\"offsetMsgId\":" + str(r.getOffsetMsgId())
            + ",\"transactionId\":" + str(r.getTransactionId())
            + ",\"queueId\":" + r.getMessageQueue().getQueueId()
            + ",\"queueOffset\":" + r.getQueueOffset() + "}");
    }

    static String json(MessageExt m) {
        Map<String, String> props = new TreeMap<>(m.getProperties());
        StringBuilder p = new StringBuilder("{");
        for (Map.Entry<String, String> e : props.entrySet()) {
            if (p.length() > 1) {
                p.append(',');
            }
            p.append(str(e.getKey())).append(':').append(str(e.getValue()));
        }
        p.append('}');
        return "{\"topic\":" + str(m.getTopic())
            + ",\"tags\":" + str(m.getTags())
            + ",\"keys\":" + str(m.getKeys())
            + ",\"uniqueId\":" + str(MessageClientIDSetter.getUniqID(m))
            + ",\"delayLevel\":" + m.getDelayTimeLevel()
            + ",\"transactional\":" + "true".equals(m.getProperty(MessageConst.PROPERTY_TRANSACTION_PREPARED))
            + ",\"queueId\":" + m.getQueueId()
            + ",\"queueOffset\":" + m.getQueueOffset()
            + ",\"bornTimestamp\":" + m.getBornTimestamp()
            + ",\"storeTimestamp\":" + m.getStoreTimestamp()
            + ",\"reconsumeTimes\":" + m.getReconsumeTimes()
            + ",\"properties\":" + p
            + ",\"body\":" + str(Base64.getEncoder().encodeToString(m.getBody())) + "}";
    }

    static String str(String s) {
        if (s == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"': b.append("\\\""); break;
                case '\\': b.append("\\\\"); break;
                case '\n': b.append("\\n"); break;
                case '\r': b.append("\\r"); break;
                case '\t': b.append("\\t"); break;
                default:
                    if (c < 0x20) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
            }
        }
        return b.append('"').toString();
    }
}
