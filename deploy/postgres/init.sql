-- One role and one database per service: each service owns its schema and can reach no other
-- service's tables; none of them is a superuser. Run once, as the server's superuser, by psql
-- with each role's password as a variable (deploy/postgres/init.sh reads them from secret files):
--   psql -v submission_password=… -v dedup_password=… -v aggregation_password=… \
--        -v notify_password=… -f init.sql
\set ON_ERROR_STOP on

CREATE ROLE submission LOGIN PASSWORD :'submission_password';
CREATE ROLE dedup LOGIN PASSWORD :'dedup_password';
CREATE ROLE aggregation LOGIN PASSWORD :'aggregation_password';
CREATE ROLE notify LOGIN PASSWORD :'notify_password';

CREATE DATABASE submission OWNER submission;
CREATE DATABASE dedup OWNER dedup;
CREATE DATABASE aggregation OWNER aggregation;
CREATE DATABASE notify OWNER notify;

-- PUBLIC may connect to any database by default: only its owner may here.
REVOKE ALL ON DATABASE submission, dedup, aggregation, notify FROM PUBLIC;
