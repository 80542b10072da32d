// Command freshapp is the program of scripts/go-tests.sh's last step: copied into a new
// module outside the checkout that requires the binding, built with no build tags against
// an installed library (pkg-config), it sends a message to the broker at BC_BROKER_ADDR and
// pulls it back. It fails (exit status 1) on anything unexpected.
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	brokerclient "github.com/libbrokerclient/libbrokerclient/bindings/go"
)

func main() {
	addr := os.Getenv("BC_BROKER_ADDR")
	if addr == "" {
		log.Fatal("freshapp: BC_BROKER_ADDR is not set")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c, err := brokerclient.NewClient(addr, brokerclient.Config{"request.timeout.ms": "10000"})
	if err != nil {
		log.Fatal("freshapp: NewClient: ", err)
	}
	topic := fmt.Sprintf("go_fresh_%d_%d", os.Getpid(), time.Now().UnixNano())
	if err := c.CreateTopic(ctx, topic, 1); err != nil {
		log.Fatal("freshapp: CreateTopic: ", err)
	}
	body := fmt.Sprintf("fresh module %s", topic)
	sent, err := c.Send(ctx, "go_fresh_pg", 0, &brokerclient.Message{Topic: topic, Body: []byte(body)})
	if err != nil {
		log.Fatal("freshapp: Send: ", err)
	}
	// A new topic's message becomes pullable shortly after it is stored: long-poll for it.
	offset := int64(0)
	for {
		r, err := c.Pull(ctx, brokerclient.PullRequest{ConsumerGroup: "go_fresh_cg", Topic: topic, QueueID: 0, Offset: offset, Suspend: time.Second})
		if err != nil {
			log.Fatal("freshapp: Pull: ", err)
		}
		if len(r.Messages) > 0 {
			if got := string(r.Messages[0].Body); got != body || r.Messages[0].MsgID != sent.MsgID {
				log.Fatalf("freshapp: pulled %q (id %s), sent %q (id %s)", got, r.Messages[0].MsgID, body, sent.MsgID)
			}
			break
		}
		offset = r.NextOffset
	}
	if err := c.Shutdown(ctx); err != nil {
		log.Fatal("freshapp: Shutdown: ", err)
	}
	if _, err := c.GetMaxOffset(ctx, topic, 0); !errors.Is(err, brokerclient.ErrClosed) {
		log.Fatal("freshapp: call after Shutdown: ", err)
	}
	fmt.Printf("freshapp: libbrokerclient %s: sent %s to %s and pulled it back\n", brokerclient.Version(), sent.MsgID, topic)
}
