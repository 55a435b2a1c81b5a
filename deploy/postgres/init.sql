-- One database per service: no service reads another's tables.
CREATE DATABASE submission;
CREATE DATABASE dedup;
CREATE DATABASE aggregation;
CREATE DATABASE notify;
