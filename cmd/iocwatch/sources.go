package main

import (
	"context"
	"log/slog"

	"github.com/iocwatch/iocwatch/config"
	"github.com/iocwatch/iocwatch/stream"
	"github.com/iocwatch/iocwatch/stream/eventhubs"
	"github.com/iocwatch/iocwatch/stream/kafka"
)

// openSource opens the config's source; paths on the command line make it
// a file source.
func openSource(ctx context.Context, cfg *config.Config, paths []string, env *cliEnv, log *slog.Logger) (stream.Source, error) {
	if len(paths) > 0 {
		return newFileSource(cfg, paths, nil, env.stdin, "auto", cfg.Source.File.Follow) // run --follow sets it
	}
	switch cfg.Source.Type {
	case "file", "stdin":
		return newFileSource(cfg, nil, nil, env.stdin, "", false) // the config's own follow applies
	case "kafka":
		opt, err := kafkaOptions(cfg.Source.Kafka, log)
		if err != nil {
			return nil, usageError{err}
		}
		src, err := kafka.New(opt)
		if err != nil {
			return nil, usageError{err}
		}
		return src, nil
	case "eventhubs":
		return eventhubs.New(ctx, eventHubsOptions(cfg.Source.EventHubs, log))
	default:
		return nil, usagef("source.type %q: want file, stdin, kafka or eventhubs", cfg.Source.Type)
	}
}

func kafkaOptions(k config.KafkaSource, log *slog.Logger) (kafka.Options, error) {
	commitInterval := k.CommitInterval
	if commitInterval == 0 {
		commitInterval = -1 // config: 0 commits at every acknowledgement
	}
	opt := kafka.Options{
		Brokers: k.Brokers, Topics: k.Topics, Group: k.Group, ClientID: k.ClientID, StartOffset: k.StartOffset,
		MinBytes: k.MinBytes, MaxBytes: k.MaxBytes, MaxWait: k.MaxWait,
		CommitInterval: commitInterval, CommitCount: k.CommitCount, Logger: log,
	}
	if k.TLS.Enabled {
		t, err := kafka.TLSConfig(k.TLS.CAFile, k.TLS.CertFile, k.TLS.KeyFile, k.TLS.ServerName, k.TLS.InsecureSkipVerify)
		if err != nil {
			return opt, err
		}
		opt.TLS = t
	}
	if k.SASL.Mechanism != "" {
		m, err := kafka.SASLMechanism(k.SASL.Mechanism, k.SASL.Username, k.SASL.Password.Reveal())
		if err != nil {
			return opt, err
		}
		opt.SASL = m
	}
	return opt, nil
}

func eventHubsOptions(e config.EventHubsSource, log *slog.Logger) eventhubs.Options {
	opt := eventhubs.Options{
		Namespace: e.Namespace, Hub: e.Hub, ConsumerGroup: e.ConsumerGroup,
		CheckpointContainerURL: e.Checkpoint.ContainerURL, CheckpointContainer: e.Checkpoint.Container,
		StartPosition: e.StartPosition, LoadBalancing: e.LoadBalancing, Prefetch: int32(e.Prefetch),
		CheckpointInterval: e.CheckpointInterval, CheckpointCount: e.CheckpointCount, Logger: log,
	}
	if e.CheckpointInterval == 0 {
		opt.CheckpointCount = 1 // config: 0 checkpoints at every acknowledgement
	}
	if e.Auth == "connection_string" {
		opt.ConnectionString = e.ConnectionString.Reveal()
	}
	if e.Checkpoint.ContainerURL == "" {
		opt.CheckpointConnectionString = e.Checkpoint.ConnectionString.Reveal()
	}
	return opt
}

// openDeadLetter opens where undecodable messages go: a Kafka topic when
// the Kafka source names one, else the pipeline.dead_letter file, else
// nowhere (they are still counted).
func openDeadLetter(cfg *config.Config, log *slog.Logger) (stream.DeadLetterWriter, func(context.Context) error, error) {
	if cfg.Source.Type == "kafka" && cfg.Source.Kafka.DeadLetterTopic != "" {
		opt, err := kafkaOptions(cfg.Source.Kafka, log)
		if err != nil {
			return nil, nil, usageError{err}
		}
		w, err := kafka.NewDeadLetterWriter(opt, cfg.Source.Kafka.DeadLetterTopic)
		if err != nil {
			return nil, nil, usageError{err}
		}
		return w, w.Close, nil
	}
	if cfg.Pipeline.DeadLetter == "" {
		return nil, func(context.Context) error { return nil }, nil
	}
	f, err := stream.OpenDeadLetter(cfg.Pipeline.DeadLetter)
	if err != nil {
		return nil, nil, err
	}
	return f, func(context.Context) error { return f.Close() }, nil
}
