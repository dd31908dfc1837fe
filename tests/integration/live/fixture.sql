-- The live adversarial suite's database: loaded by tests/integration/live/run as the superuser
-- into `live_template`, which is then the template of a fresh copy per deployment role (and
-- after any attack with effect). It holds what the corpus's attacks name, so an attack that got
-- through would act on something real, and the canaries the runner's snapshot checks.
--   psql -v marker_file=PATH   the marker file, in a directory the server's OS user owns
-- Markers (LIVE-...) must never appear in a response; lib.mjs names them.
\set ON_ERROR_STOP on
SET client_min_messages = warning;

-- The three deployments: a superuser, the owner of the tables, a read-only role. Passwords,
-- so pg_authid holds SCRAM hashes a leak would show (the cluster trusts local connections).
CREATE ROLE live_super LOGIN SUPERUSER PASSWORD 'Live-super-pw-0q7';
CREATE ROLE live_owner LOGIN PASSWORD 'Live-owner-pw-4m2';
CREATE ROLE live_reader LOGIN PASSWORD 'Live-reader-pw-9x5';
-- The canary session's role: a session that other_sessions attacks would kill or cancel.
CREATE ROLE live_canary LOGIN;
-- Role settings that must not change.
ALTER ROLE live_reader SET work_mem = '4MB';
ALTER ROLE live_owner SET live.canary = 'owner-setting';
-- A secret kept in a role setting, as PostgREST keeps its JWT secret (pg_roles.rolconfig).
ALTER ROLE live_canary SET app.jwt_secret = 'LIVE-SECRET-MARKER-3f8e2b-rolconfig';

-- Everything below is the owner's, except the secrets and the SECURITY DEFINER function.
GRANT CREATE ON SCHEMA public TO live_owner;
SET ROLE live_owner;

CREATE TABLE customers (
  id integer PRIMARY KEY,
  name text NOT NULL,
  email text,
  country text,
  created_at timestamptz NOT NULL DEFAULT '2024-01-01'
);
CREATE TABLE orders (
  id bigserial PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers (id),
  total numeric(12,2) NOT NULL,
  status text NOT NULL DEFAULT 'open',
  placed_on date NOT NULL DEFAULT '2024-05-01',
  created_at timestamptz NOT NULL DEFAULT '2024-05-01'
);
CREATE TABLE order_items (
  order_id bigint NOT NULL REFERENCES orders (id),
  line integer NOT NULL,
  product text NOT NULL,
  quantity integer NOT NULL,
  PRIMARY KEY (order_id, line)
);
INSERT INTO customers (id, name, email, country) VALUES
  (1, 'alice', 'alice@example.org', 'FR'), (2, 'bob', NULL, 'DE'), (3, 'carol', 'carol@example.org', 'FR');
INSERT INTO orders (customer_id, total, status, placed_on)
  SELECT 1 + g % 3, g * 1.25, CASE WHEN g % 4 = 0 THEN 'open' ELSE 'paid' END, DATE '2024-01-01' + g % 300
  FROM generate_series(1, 2000) g; -- more than the row limit, for the unbounded entries
INSERT INTO order_items VALUES (1, 1, 'apple', 3), (1, 2, 'pear', 1), (2, 1, 'plum', 10);

-- The log table: its rows and its definition must not change.
CREATE TABLE audit_log (id serial PRIMARY KEY, msg text NOT NULL, at timestamptz NOT NULL DEFAULT '2024-01-01');
INSERT INTO audit_log (msg) VALUES ('seed 1'), ('seed 2');

-- The other tables the corpus's writes, reads and rewrites name.
CREATE TABLE users (id integer PRIMARY KEY, email text, name text, role text, is_admin boolean NOT NULL DEFAULT false, password text);
INSERT INTO users VALUES (1, 'attacker@example.com', 'mallory', 'user', false, NULL), (2, 'admin@example.com', 'root', 'admin', true, NULL);
CREATE TABLE accounts (id integer PRIMARY KEY, balance numeric NOT NULL);
INSERT INTO accounts VALUES (1, 100), (2, 250);
CREATE TABLE archive (LIKE orders);
CREATE TABLE archived_orders (LIKE orders);
CREATE TABLE products (id integer PRIMARY KEY, name text, price numeric);
INSERT INTO products VALUES (1, 'apple', 1.5);
CREATE TABLE inventory (product_id integer, quantity integer, sku text, qty integer);
CREATE TABLE shipments (sku text, qty integer);
CREATE TABLE s (id integer);
CREATE TABLE a (id integer);
CREATE TABLE b (id integer);
CREATE TABLE staging (LIKE orders);
CREATE TABLE sessions (id integer, user_id integer, token text);
CREATE TABLE app_settings (name text PRIMARY KEY, value text);
INSERT INTO app_settings VALUES ('mode', 'live');
CREATE TABLE jobs (id integer, payload text);
CREATE TABLE docs (id integer, body text, vec tsvector);
INSERT INTO docs VALUES (1, 'the quick fox', to_tsvector('simple', 'the quick fox'));
CREATE TABLE documents (id integer, body text);
CREATE TABLE files (id integer, path text);
CREATE TABLE nodes (id integer, parent_id integer);
INSERT INTO nodes VALUES (1, NULL), (2, 1);
CREATE TABLE events (id integer, kind text, created_at timestamptz, ts timestamptz, payload jsonb);
INSERT INTO events VALUES (1, 'signup', '2024-06-01', '2024-06-01', '{"k": 1}'), (2, 'login', '2025-06-01', '2025-06-01', '{}');
CREATE INDEX events_ts_brin ON events USING brin (ts);
CREATE INDEX events_payload_idx ON events USING gin (payload);
CREATE TABLE t (a integer, b text, id integer);
INSERT INTO t VALUES (1, 'x', 1);

-- A sequence no query needs: any nextval/setval would move it (orders_id_seq is checked too).
CREATE SEQUENCE canary_seq;
RESET ROLE;

-- Secrets: the superuser's; neither the owner nor the reader may read them.
CREATE SCHEMA vault;
CREATE TABLE vault.secrets (id integer PRIMARY KEY, name text, value text);
INSERT INTO vault.secrets VALUES
  (1, 'api_key', 'LIVE-SECRET-MARKER-3f8e2b-api'),
  (2, 'jwt', 'LIVE-SECRET-MARKER-3f8e2b-jwt');
CREATE TABLE public.secrets (id integer PRIMARY KEY, value text);
INSERT INTO public.secrets VALUES (1, 'LIVE-SECRET-MARKER-3f8e2b-pub');
REVOKE ALL ON SCHEMA vault FROM PUBLIC;
REVOKE ALL ON public.secrets FROM PUBLIC;

-- dblink, so its attacks have something to run (they name the database `postgres`; the
-- runner gives it a `customers` table too, the `remote` canary).
CREATE EXTENSION dblink;

-- A VOLATILE SECURITY DEFINER function that writes to the log table (as the superuser).
CREATE FUNCTION public.log_note(note text) RETURNS integer
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = public AS $$
BEGIN
  INSERT INTO audit_log (msg) VALUES (note);
  RETURN 1;
END $$;

-- A large object (the OID the corpus's lo_* attacks name) with a marker.
SELECT lo_from_bytea(16385, convert_to('LIVE-LO-MARKER-91c4d0', 'UTF8'));

-- The marker file on the database host, written by the server itself.
COPY (SELECT 'LIVE-FILE-MARKER-7d1c9a') TO :'marker_file';

-- The read-only role reads the non-secret tables only; the owner owns them.
GRANT USAGE ON SCHEMA public TO live_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO live_reader;
REVOKE ALL ON public.secrets FROM live_reader;

ANALYZE;

-- The snapshot: every canary in one superuser query, as a small JSON object (md5 digests
-- where the state is large) that the runner compares with the one taken right after a reset.
CREATE SCHEMA live_canary;
REVOKE ALL ON SCHEMA live_canary FROM PUBLIC;
CREATE FUNCTION live_canary.snapshot(marker_dir text, paths text[], canary_pid integer) RETURNS jsonb
  LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  contents jsonb := '{}';
  rel record;
  digest text;
BEGIN
  -- The contents of every table outside the system schemas.
  FOR rel IN
    SELECT c.oid::regclass AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
    WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')
      AND n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast_temp%'
    ORDER BY 1::text
  LOOP
    -- count and an order-free sum of row hashes: no sort, and any changed row changes it
    EXECUTE format('SELECT count(*) || '' '' || coalesce(sum(hashtextextended(t::text, 0)), 0) FROM %s t', rel.name)
      INTO digest;
    contents := contents || jsonb_build_object(rel.name::text, digest);
  END LOOP;
  RETURN jsonb_build_object(
    'sequence', (SELECT jsonb_object_agg(schemaname || '.' || sequencename, coalesce(last_value::text, 'not called'))
                 FROM pg_sequences),
    'log_table', jsonb_build_object(
      'rows', contents -> 'audit_log',
      'definition', (SELECT md5(string_agg(format('%s %s %s %s', attnum, attname, atttypid, attnotnull), ',' ORDER BY attnum))
                     FROM pg_attribute WHERE attrelid = 'public.audit_log'::regclass AND NOT attisdropped),
      'triggers', (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'public.audit_log'::regclass),
      'rules_policies', (SELECT count(*) FROM pg_rewrite WHERE ev_class = 'public.audit_log'::regclass)
                        + (SELECT count(*) FROM pg_policy WHERE polrelid = 'public.audit_log'::regclass)),
    'data', contents,
    -- Catalogs: the rows made after initdb (OID >= 16384) and every ACL, plus row counts;
    -- any other catalog change is a write, which the xid canary sees.
    'relations', (SELECT count(*) || ' ' || md5(string_agg(format('%s %s %s %s %s %s %s', oid, relnamespace, relname,
                                   relkind, relowner, relfilenode, relacl), ',' ORDER BY oid)
                                   FILTER (WHERE oid >= 16384 OR relacl IS NOT NULL)) FROM pg_class),
    'functions', (SELECT count(*) || ' ' || md5(string_agg(format('%s %s %s %s %s %s %s %s', oid, pronamespace, proname,
                                   proowner, provolatile, prosecdef, md5(prosrc), proacl), ',' ORDER BY oid)
                                   FILTER (WHERE oid >= 16384 OR proacl IS NOT NULL)) FROM pg_proc),
    'objects', (SELECT md5(concat_ws('|',
                  (SELECT string_agg(format('%s %s %s', oid, nspname, nspacl), ',' ORDER BY oid) FROM pg_namespace),
                  (SELECT count(*) || string_agg(format('%s %s', oid, typname), ',' ORDER BY oid)
                          FILTER (WHERE oid >= 16384) FROM pg_type),
                  (SELECT count(*) || string_agg(format('%s %s', oid, oprname), ',' ORDER BY oid)
                          FILTER (WHERE oid >= 16384) FROM pg_operator),
                  (SELECT string_agg(format('%s %s %s', oid, tgname, tgenabled), ',' ORDER BY oid) FROM pg_trigger),
                  (SELECT string_agg(format('%s %s', oid, rulename), ',' ORDER BY oid) FROM pg_rewrite),
                  (SELECT string_agg(oid::text, ',' ORDER BY oid) FROM pg_policy),
                  (SELECT string_agg(oid::text, ',' ORDER BY oid) FROM pg_event_trigger),
                  (SELECT string_agg(oid::text, ',' ORDER BY oid) FROM pg_publication),
                  (SELECT string_agg(oid::text, ',' ORDER BY oid) FROM pg_subscription),
                  (SELECT string_agg(format('%s %s', oid, extname), ',' ORDER BY oid) FROM pg_extension),
                  (SELECT string_agg(oid::text, ',' ORDER BY oid) FROM pg_foreign_server),
                  (SELECT string_agg(oid::text, ',' ORDER BY oid) FROM pg_user_mapping),
                  (SELECT string_agg(format('%s %s', oid, defaclacl), ',' ORDER BY oid) FROM pg_default_acl),
                  (SELECT string_agg(spcname, ',' ORDER BY oid) FROM pg_tablespace)))),
    'roles', (SELECT jsonb_build_object(
                'names', jsonb_agg(rolname ORDER BY rolname),
                'attributes', md5(string_agg(format('%s %s %s %s %s %s %s %s %s %s %s', rolname, rolsuper,
                                  rolinherit, rolcreaterole, rolcreatedb, rolcanlogin, rolreplication, rolbypassrls,
                                  rolconnlimit, rolpassword, rolvaliduntil), ',' ORDER BY rolname)),
                'members', (SELECT md5(coalesce(string_agg(format('%s %s %s', roleid, member, admin_option), ','
                                        ORDER BY roleid, member), '')) FROM pg_auth_members))
              FROM pg_authid),
    -- by name: a fresh copy of the database has a new OID
    'role_settings', (SELECT md5(coalesce(string_agg(format('%s %s %s', d.datname, r.rolname, s.setconfig), ','
                                  ORDER BY d.datname, r.rolname), ''))
                      FROM pg_db_role_setting s LEFT JOIN pg_database d ON d.oid = s.setdatabase
                      LEFT JOIN pg_authid r ON r.oid = s.setrole),
    'databases', (SELECT md5(string_agg(format('%s %s %s %s %s', datname, datdba, datallowconn, datconnlimit, datacl), ','
                              ORDER BY datname)) FROM pg_database),
    'large_object', jsonb_build_object(
      'metadata', (SELECT md5(coalesce(string_agg(format('%s %s %s', oid, lomowner, lomacl), ',' ORDER BY oid), ''))
                   FROM pg_largeobject_metadata),
      'data', (SELECT md5(coalesce(string_agg(format('%s %s %s', loid, pageno, md5(data)), ',' ORDER BY loid, pageno), ''))
               FROM pg_largeobject)),
    'files', jsonb_build_object(
      'marker_dir', (SELECT jsonb_object_agg(f, md5(pg_read_binary_file(marker_dir || '/' || f)))
                     FROM pg_ls_dir(marker_dir) f),
      'paths', (SELECT jsonb_object_agg(p, coalesce((SELECT format('%s %s', s.size, s.modification)
                                                       FROM pg_stat_file(p, true) s WHERE s.size IS NOT NULL), 'absent'))
                FROM unnest(paths) p),
      'data_dir', (SELECT md5(string_agg(f, ',' ORDER BY f)) FROM pg_ls_dir('.') f),
      'auto_conf', md5(pg_read_file('postgresql.auto.conf'))),
    -- the records the hidden-call hazards leave beside the marker file (live/hidden.sql)
    'hidden_calls', (SELECT coalesce(jsonb_agg(f ORDER BY f), '[]') FROM pg_ls_dir(marker_dir) f
                     WHERE f LIKE 'hidden-%'),
    -- session advisory locks held by any other backend: they outlive ROLLBACK
    'advisory', (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid <> pg_backend_pid()),
    'slots', (SELECT count(*) FROM pg_replication_slots),
    -- the next transaction ID: only a write moves it (the runner turns autovacuum off)
    'xid', pg_snapshot_xmax(pg_current_snapshot())::text,
    'prepared', (SELECT count(*) FROM pg_prepared_xacts),
    'locks', (SELECT coalesce(jsonb_agg(format('%s %s %s %s', l.locktype, l.mode, l.relation::regclass, a.usename)
                                         ORDER BY l.locktype, l.mode), '[]')
              FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
              WHERE l.pid <> pg_backend_pid() AND a.backend_type = 'client backend'),
    'sessions', (SELECT count(*) FROM pg_stat_activity WHERE pid = canary_pid),
    -- pgsafe's own pooled connections between calls: idle, outside any transaction (a call
    -- must not leave a transaction, a snapshot or a running statement behind for the next)
    'gateway', (SELECT coalesce(jsonb_agg(format('%s xid=%s xmin=%s', state, backend_xid, backend_xmin)
                                          ORDER BY pid), '[]')
                FROM pg_stat_activity
                WHERE application_name = 'pgsafe' AND backend_type = 'client backend'
                  AND (state IS DISTINCT FROM 'idle' OR backend_xid IS NOT NULL OR backend_xmin IS NOT NULL)),
    -- temporary relations of any session (a call must not leave one behind; the snapshot's
    -- and the canary's sessions make none)
    'temporary', (SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname LIKE 'pg_temp%'),
    'server', jsonb_build_object(
      'started', pg_postmaster_start_time(),
      'config_loaded', pg_conf_load_time(),
      'stats_reset', (SELECT max(stats_reset) FROM pg_stat_database),
      'shared_stats_reset', (SELECT concat_ws(' ', (SELECT stats_reset FROM pg_stat_bgwriter),
                                              (SELECT stats_reset FROM pg_stat_archiver),
                                              (SELECT stats_reset FROM pg_stat_wal),
                                              (SELECT max(stats_reset) FROM pg_stat_slru)))));
END $$;
REVOKE ALL ON FUNCTION live_canary.snapshot(text, text[], integer) FROM PUBLIC;
