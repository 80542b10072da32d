// Quickstart: create a topic, send a message, pull it back, commit the consumer offset.
//
//	cargo build                       # at the repository root: target/debug/libbrokerclient.so
//	scripts/rocketmq.sh start         # a local broker on 127.0.0.1:10911, name server 9876
//	cd bindings/go && go run -tags brokerclient_repo ./examples/quickstart
//
// (-tags brokerclient_repo links the checkout's target/debug; without it the build links an
// installed library through pkg-config: see the package documentation.)
//
// BC_BROKER_ADDR and BC_NAMESRV_ADDR choose other addresses.
package main

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	brokerclient "github.com/libbrokerclient/libbrokerclient/bindings/go"
)

func main() {
	brokerAddr := getenv("BC_BROKER_ADDR", "127.0.0.1:10911")
	namesrvAddr := getenv("BC_NAMESRV_ADDR", "127.0.0.1:9876")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	c, err := brokerclient.NewClient(brokerAddr, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	topic := fmt.Sprintf("quickstart_go_%d", time.Now().UnixNano())
	const producerGroup, consumerGroup = "quickstart_go_pg", "quickstart_go_cg"
	if err := c.CreateTopic(ctx, topic, 1); err != nil {
		log.Fatal("create topic: ", err)
	}
	sent, err := c.Send(ctx, producerGroup, 0, &brokerclient.Message{Topic: topic, Body: []byte("hello from Go"), Tags: "quickstart"})
	if err != nil {
		log.Fatal("send: ", err)
	}
	fmt.Printf("sent %s to queue %d at offset %d\n", sent.MsgID, sent.QueueID, sent.QueueOffset)

	// A new topic's message becomes pullable shortly after it is stored: long-poll for it.
	var got []brokerclient.MessageExt
	for offset := int64(0); len(got) == 0; {
		r, err := c.Pull(ctx, brokerclient.PullRequest{ConsumerGroup: consumerGroup, Topic: topic, Offset: offset, Suspend: 2 * time.Second})
		if err != nil {
			log.Fatal("pull: ", err)
		}
		got, offset = r.Messages, r.NextOffset
	}
	fmt.Printf("pulled %q (tags %q) stored at %s\n", got[0].Body, got[0].Tags, got[0].StoreTimestamp.Format(time.RFC3339))

	if err := c.Heartbeat(ctx, "", consumerGroup); err != nil {
		log.Fatal("heartbeat: ", err)
	}
	if err := c.UpdateConsumerOffset(ctx, consumerGroup, topic, 0, got[0].QueueOffset+1); err != nil {
		log.Fatal("commit offset: ", err)
	}

	// The same through a manager that discovers the brokers from the name server.
	m, err := brokerclient.NewManagerFromNameServers(namesrvAddr, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	if err := m.Start(ctx); err != nil {
		log.Fatal("manager start: ", err)
	}
	routed, err := m.Send(ctx, producerGroup, &brokerclient.Message{Topic: topic, Body: []byte("routed by the manager")})
	if err != nil {
		log.Fatal("manager send: ", err)
	}
	fmt.Printf("manager sent %s to queue %d at offset %d\n", routed.MsgID, routed.QueueID, routed.QueueOffset)
	fmt.Println("quickstart: ok")
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
