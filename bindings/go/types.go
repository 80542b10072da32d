package brokerclient

import "encoding/json"

// TopicRoute is a topic's route (RocketMQ's TopicRouteData).
type TopicRoute struct {
	QueueDatas     []QueueData  `json:"queueDatas"`
	BrokerDatas    []BrokerData `json:"brokerDatas"`
	OrderTopicConf string       `json:"orderTopicConf,omitempty"`
}

// QueueData is one broker's queues of a topic.
type QueueData struct {
	BrokerName     string `json:"brokerName"`
	ReadQueueNums  int32  `json:"readQueueNums"`
	WriteQueueNums int32  `json:"writeQueueNums"`
	Perm           int32  `json:"perm"`
	TopicSysFlag   int32  `json:"topicSysFlag"`
}

// BrokerData is a broker group: its name, cluster and addresses by broker id (0 = master).
type BrokerData struct {
	Cluster     string           `json:"cluster"`
	BrokerName  string           `json:"brokerName"`
	BrokerAddrs map[int64]string `json:"brokerAddrs"`
}

// ClusterInfo is every cluster and broker a name server knows (RocketMQ's ClusterInfo).
type ClusterInfo struct {
	BrokerAddrTable  map[string]BrokerData `json:"brokerAddrTable"`
	ClusterAddrTable map[string][]string   `json:"clusterAddrTable"`
}

// MessageQueue names one queue: for LockBatchMQ and UnlockBatchMQ.
type MessageQueue struct {
	Topic      string `json:"topic"`
	BrokerName string `json:"brokerName"`
	QueueID    int32  `json:"queueId"`
}

// ManagerStats is a manager's state and metrics.
type ManagerStats struct {
	ClientID    string        `json:"client_id"`
	NameServers []string      `json:"name_servers"`
	Brokers     []BrokerStats `json:"brokers"`
}

// BrokerStats is one broker's state and metrics in a manager.
type BrokerStats struct {
	Addr                string `json:"addr"`
	Name                string `json:"name"`
	State               string `json:"state"` // "healthy", "suspect" or "down"
	ConsecutiveFailures uint64 `json:"consecutive_failures"`
	OpenConnections     uint64 `json:"open_connections"`
	InFlight            uint64 `json:"in_flight"`
	Requests            uint64 `json:"requests"`
	Errors              uint64 `json:"errors"`
	LatencyP50Micros    uint64 `json:"latency_p50_us"`
	LatencyP99Micros    uint64 `json:"latency_p99_us"`
}

// BrokerState is a manager's view of one broker's health.
type BrokerState int32

// Broker states.
const (
	BrokerUnknown BrokerState = -1 // not known to the manager (or the manager is closed)
	BrokerHealthy BrokerState = 0
	BrokerSuspect BrokerState = 1 // recent failures
	BrokerDown    BrokerState = 2 // failing at once until a probe succeeds
)

// decodeJSON decodes the library's JSON into v; a failure is ErrProtocol.
func decodeJSON[T any](text string, err error) (T, error) {
	var v T
	if err != nil {
		return v, err
	}
	if jerr := json.Unmarshal([]byte(text), &v); jerr != nil {
		return v, &Error{Status: ErrProtocol, Message: "decoding the library's JSON: " + jerr.Error()}
	}
	return v, nil
}
