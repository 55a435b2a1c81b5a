"""Broker topology, transactional outbox and inbox, consumers."""
