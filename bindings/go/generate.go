package brokerclient

//go:generate go run ./internal/genshim ../../include/brokerclient.h .
