package brokerclient_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"os"
	"time"

	brokerclient "github.com/libbrokerclient/libbrokerclient/bindings/go"
)

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

// Send a message to one broker and wait until it is stored.
func ExampleClient_Send() {
	c, err := brokerclient.NewClient(env("BC_BROKER_ADDR", "127.0.0.1:10911"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := c.Send(ctx, "my_producer_group", brokerclient.AnyQueue, &brokerclient.Message{
		Topic: "TopicTest",
		Body:  []byte("hello"),
		Tags:  "greeting",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("stored in queue", r.QueueID, "at offset", r.QueueOffset)
}

// Pull with long polling: the broker holds the pull up to Suspend while nothing is there.
func ExampleClient_Pull() {
	c, err := brokerclient.NewClient(env("BC_BROKER_ADDR", "127.0.0.1:10911"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	r, err := c.Pull(context.Background(), brokerclient.PullRequest{
		ConsumerGroup: "my_consumer_group",
		Topic:         "TopicTest",
		QueueID:       0,
		Offset:        0,
		Suspend:       5 * time.Second,
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range r.Messages {
		fmt.Printf("%d: %s\n", m.QueueOffset, m.Body)
	}
	// Continue from r.NextOffset.
}

// PullBatch avoids copying bodies: they stay valid until Free.
func ExampleClient_PullBatch() {
	c, err := brokerclient.NewClient(env("BC_BROKER_ADDR", "127.0.0.1:10911"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	b, err := c.PullBatch(context.Background(), brokerclient.PullRequest{
		ConsumerGroup: "my_consumer_group", Topic: "TopicTest", QueueID: 0, Offset: 0,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer b.Free()
	total := 0
	for i := 0; i < b.Len(); i++ {
		total += len(b.Message(i).Body)
	}
	fmt.Println(b.Len(), "messages,", total, "bytes")
}

// A manager discovers the brokers from the name servers and routes each send.
func ExampleManager_Send() {
	m, err := brokerclient.NewManagerFromNameServers(env("BC_NAMESRV_ADDR", "127.0.0.1:9876"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	ctx := context.Background()
	if err := m.Start(ctx); err != nil {
		log.Fatal(err)
	}
	r, err := m.Send(ctx, "my_producer_group", &brokerclient.Message{Topic: "TopicTest", Body: []byte("routed")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("message id", r.MsgID)
}

// Answer the broker's checks of half messages whose transaction was not ended.
func ExampleClient_SetTransactionCheckHandler() {
	c, err := brokerclient.NewClient(env("BC_BROKER_ADDR", "127.0.0.1:10911"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	committed := map[string]bool{} // e.g. your database
	err = c.SetTransactionCheckHandler(func(check *brokerclient.TransactionCheck) brokerclient.TransactionState {
		if committed[check.TransactionID] {
			return brokerclient.TxCommit
		}
		return brokerclient.TxRollback
	})
	if err != nil {
		log.Fatal(err)
	}
	// The broker asks the clients registered for the producer group.
	if err := c.Heartbeat(context.Background(), "my_tx_group", ""); err != nil {
		log.Fatal(err)
	}
}

// Route the library's log events to slog.
func ExampleSetLogger() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if err := brokerclient.SetLogger(logger, slog.LevelWarn); err != nil {
		log.Fatal(err)
	}
	defer brokerclient.SetLogger(nil, 0)
}

// Errors match their category with errors.Is and expose the broker's answer with errors.As.
func ExampleError() {
	err := error(&brokerclient.Error{Status: brokerclient.ErrBrokerResponse, ResponseCode: 17, Remark: "topic not exist"})
	var e *brokerclient.Error
	if errors.As(err, &e) {
		fmt.Println(errors.Is(err, brokerclient.ErrBrokerResponse), e.ResponseCode, e.Remark)
	}
	fmt.Println(errors.Is(err, brokerclient.ErrTimeout))
	// Output:
	// true 17 topic not exist
	// false
}

// Typed settings: Options{...}.Config() is the Config of the C API's keys.
func ExampleOptions() {
	c, err := brokerclient.NewClient(env("BC_BROKER_ADDR", "127.0.0.1:10911"), brokerclient.Options{
		RequestTimeout: 5 * time.Second,
		ConnectTimeout: time.Second,
		MaxInFlight:    1024,
	}.Config())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
}

// Graceful shutdown, as with http.Server: stop taking calls, let those in flight finish for
// up to ten seconds, then close (calls still in flight then return ErrCancelled).
func ExampleClient_Shutdown() {
	c, err := brokerclient.NewClient(env("BC_BROKER_ADDR", "127.0.0.1:10911"), nil)
	if err != nil {
		log.Fatal(err)
	}
	// ... calls on c from other goroutines ...
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := c.Shutdown(ctx); errors.Is(err, context.DeadlineExceeded) {
		log.Print("calls still in flight after 10 s were cancelled")
	}
}
