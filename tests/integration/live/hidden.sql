-- The live suite's hidden-call hazards: objects through which a query reaches a volatile
-- function without naming it (docs/threat-model.md, "Functions reached without being named").
-- Loaded by tests/integration/live/run as the superuser into `live_hidden`, a copy of
-- `live_template` that only the `hidden_calls` entries run against: a volatile user `=`
-- makes every query that names `=` refused, which the other classes' allowed entries must
-- not meet.
--   psql -v marker_file=PATH   the marker file; its directory receives the call records
--
-- Every hazard ends in hz_record(what), which leaves two traces that the query's read-only
-- transaction can neither refuse nor roll back (an INSERT would be refused by it, so a canary
-- table could not show a call): a file hidden-WHAT.txt beside the marker file, written by
-- the server with COPY ... TO (the `hidden_calls` canary lists them), and a session advisory
-- lock that outlives ROLLBACK (the `advisory` canary). The self-check runs each entry
-- directly and sees both.
\set ON_ERROR_STOP on
SET client_min_messages = warning;
SELECT regexp_replace(:'marker_file', '/[^/]*$', '') AS record_dir \gset

-- While the fixture loads (its inserts run the domain's CHECK), calls leave no trace.
SET live.loading = 'on';

-- The recorder: the superuser's, SECURITY DEFINER (COPY ... TO a file needs the privilege);
-- every role may call it, as every role may call any function by default.
SELECT format($fn$
CREATE FUNCTION public.hz_record(what text) RETURNS boolean
  LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $body$
BEGIN
  IF current_setting('live.loading', true) = 'on' THEN
    RETURN true;
  END IF;
  PERFORM pg_advisory_lock(4242);
  EXECUTE format('COPY (SELECT %%L) TO %%L', what,
                 %L || '/hidden-' || regexp_replace(what, '[^a-z0-9_]', '', 'g') || '.txt');
  RETURN true;
END $body$$fn$, :'record_dir') \gexec

-- The owner's objects, as a schema migration would make them.
SET ROLE live_owner;

-- A composite type whose comparison operators, ordering and hash are VOLATILE: what CASE,
-- IN, USING, NULLIF, IS DISTINCT FROM, DISTINCT, GROUP BY, ORDER BY, UNION, greatest and
-- row and array comparisons call without naming them.
CREATE TYPE hz_pair AS (a integer, b integer);
CREATE FUNCTION hz_pair_order(hz_pair, hz_pair) RETURNS integer LANGUAGE sql IMMUTABLE
  AS $$SELECT CASE WHEN ROW(($1).a, ($1).b) < ROW(($2).a, ($2).b) THEN -1
                   WHEN ROW(($1).a, ($1).b) = ROW(($2).a, ($2).b) THEN 0 ELSE 1 END$$;
CREATE FUNCTION hz_pair_cmp(hz_pair, hz_pair) RETURNS integer LANGUAGE plpgsql VOLATILE
  AS $$BEGIN PERFORM hz_record('pair_cmp'); RETURN hz_pair_order($1, $2); END$$;
CREATE FUNCTION hz_pair_eq(hz_pair, hz_pair) RETURNS boolean LANGUAGE plpgsql VOLATILE
  AS $$BEGIN PERFORM hz_record('pair_eq'); RETURN hz_pair_order($1, $2) = 0; END$$;
CREATE FUNCTION hz_pair_ne(hz_pair, hz_pair) RETURNS boolean LANGUAGE plpgsql VOLATILE
  AS $$BEGIN PERFORM hz_record('pair_ne'); RETURN hz_pair_order($1, $2) <> 0; END$$;
CREATE FUNCTION hz_pair_lt(hz_pair, hz_pair) RETURNS boolean LANGUAGE plpgsql VOLATILE
  AS $$BEGIN PERFORM hz_record('pair_lt'); RETURN hz_pair_order($1, $2) < 0; END$$;
CREATE FUNCTION hz_pair_le(hz_pair, hz_pair) RETURNS boolean LANGUAGE plpgsql VOLATILE
  AS $$BEGIN PERFORM hz_record('pair_le'); RETURN hz_pair_order($1, $2) <= 0; END$$;
CREATE FUNCTION hz_pair_gt(hz_pair, hz_pair) RETURNS boolean LANGUAGE plpgsql VOLATILE
  AS $$BEGIN PERFORM hz_record('pair_gt'); RETURN hz_pair_order($1, $2) > 0; END$$;
CREATE FUNCTION hz_pair_ge(hz_pair, hz_pair) RETURNS boolean LANGUAGE plpgsql VOLATILE
  AS $$BEGIN PERFORM hz_record('pair_ge'); RETURN hz_pair_order($1, $2) >= 0; END$$;
CREATE FUNCTION hz_pair_hash(hz_pair) RETURNS integer LANGUAGE plpgsql VOLATILE
  AS $$BEGIN PERFORM hz_record('pair_hash'); RETURN hashint4(($1).a) # hashint4(($1).b); END$$;
CREATE OPERATOR = (LEFTARG = hz_pair, RIGHTARG = hz_pair, PROCEDURE = hz_pair_eq,
                   COMMUTATOR = =, NEGATOR = <>, HASHES);
CREATE OPERATOR <> (LEFTARG = hz_pair, RIGHTARG = hz_pair, PROCEDURE = hz_pair_ne, COMMUTATOR = <>);
CREATE OPERATOR < (LEFTARG = hz_pair, RIGHTARG = hz_pair, PROCEDURE = hz_pair_lt, COMMUTATOR = >, NEGATOR = >=);
CREATE OPERATOR <= (LEFTARG = hz_pair, RIGHTARG = hz_pair, PROCEDURE = hz_pair_le, COMMUTATOR = >=, NEGATOR = >);
CREATE OPERATOR > (LEFTARG = hz_pair, RIGHTARG = hz_pair, PROCEDURE = hz_pair_gt, COMMUTATOR = <, NEGATOR = <=);
CREATE OPERATOR >= (LEFTARG = hz_pair, RIGHTARG = hz_pair, PROCEDURE = hz_pair_ge, COMMUTATOR = <=, NEGATOR = <);
-- Its default operator classes: only a superuser may create them.
RESET ROLE;
CREATE OPERATOR CLASS hz_pair_btree DEFAULT FOR TYPE hz_pair USING btree AS
  OPERATOR 1 <, OPERATOR 2 <=, OPERATOR 3 =, OPERATOR 4 >=, OPERATOR 5 >,
  FUNCTION 1 hz_pair_cmp(hz_pair, hz_pair);
CREATE OPERATOR CLASS hz_pair_hash_ops DEFAULT FOR TYPE hz_pair USING hash AS
  OPERATOR 1 =, FUNCTION 1 hz_pair_hash(hz_pair);
SET ROLE live_owner;
CREATE TABLE hz_pairs (id integer PRIMARY KEY, p hz_pair);
INSERT INTO hz_pairs VALUES (1, ROW(1, 2)), (2, ROW(3, 4)), (3, ROW(1, 2));

-- Implicit casts that call volatile functions: from the type to text (length(p), upper(p))
-- and from integer to the type (a function over the type given an integer).
CREATE FUNCTION hz_pair_text(hz_pair) RETURNS text LANGUAGE plpgsql VOLATILE
  AS $$BEGIN PERFORM hz_record('pair_to_text'); RETURN format('(%s,%s)', ($1).a, ($1).b); END$$;
CREATE CAST (hz_pair AS text) WITH FUNCTION hz_pair_text(hz_pair) AS IMPLICIT;
CREATE FUNCTION hz_int_pair(integer) RETURNS hz_pair LANGUAGE plpgsql VOLATILE
  AS $$BEGIN PERFORM hz_record('int_to_pair'); RETURN ROW($1, $1)::hz_pair; END$$;
CREATE CAST (integer AS hz_pair) WITH FUNCTION hz_int_pair(integer) AS IMPLICIT;
CREATE FUNCTION hz_first(hz_pair) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT ($1).a';

-- A domain whose CHECK calls a volatile function: any value made of the type runs it
-- (casts, jsonb_populate_record and json_populate_recordset into a row type holding it, a
-- column definition list that names it).
CREATE FUNCTION hz_check(text) RETURNS boolean LANGUAGE plpgsql VOLATILE
  AS $$BEGIN PERFORM hz_record('domain_check'); RETURN $1 IS NOT NULL; END$$;
CREATE DOMAIN hz_checked AS text CHECK (hz_check(VALUE));
CREATE TYPE hz_form AS (name text, d hz_checked);
CREATE TABLE hz_docs (id integer PRIMARY KEY, d hz_checked);
INSERT INTO hz_docs VALUES (1, 'first'), (2, 'second');

-- Functions that hand out values of the type without taking or returning it by name:
-- a table function, OUT parameters.
CREATE FUNCTION hz_pairs_of() RETURNS TABLE (id integer, p hz_pair) LANGUAGE sql STABLE
  AS 'SELECT id, p FROM hz_pairs';
CREATE FUNCTION hz_one_pair(OUT p hz_pair, OUT n integer) LANGUAGE sql STABLE
  AS 'SELECT ROW(1, 2)::hz_pair, 1';
-- A STABLE function whose parameter default calls a volatile one, and one whose SQL-standard
-- body does: the function itself does nothing, its call does.
CREATE FUNCTION hz_default(flag boolean DEFAULT hz_record('default_argument')) RETURNS integer
  LANGUAGE plpgsql STABLE AS $$BEGIN RETURN 1; END$$;
CREATE FUNCTION hz_atomic() RETURNS boolean LANGUAGE sql STABLE
  BEGIN ATOMIC SELECT hz_record('atomic_body'); END;
-- An aggregate whose transition function is volatile (the aggregate's own pg_proc row says
-- immutable).
CREATE FUNCTION hz_agg_step(integer, integer) RETURNS integer LANGUAGE plpgsql VOLATILE
  AS $$BEGIN PERFORM hz_record('aggregate_step'); RETURN $1 + coalesce($2, 0); END$$;
CREATE AGGREGATE hz_total(integer) (SFUNC = hz_agg_step, STYPE = integer, INITCOND = '0');

-- Views: one that calls a volatile function, views over it (a chain, a count), one whose
-- definition compares the type, one over the table function, one over the default.
CREATE VIEW hz_calls_view AS SELECT o.id, hz_record('view') AS seen FROM orders o WHERE o.id <= 3;
CREATE VIEW hz_chain_view AS SELECT * FROM hz_calls_view;
CREATE VIEW hz_chain2_view AS SELECT id FROM hz_chain_view;
CREATE VIEW hz_count_view AS SELECT count(*) AS n FROM hz_calls_view;
CREATE VIEW hz_compare_view AS SELECT id FROM hz_pairs WHERE p = ROW(1, 2)::hz_pair;
CREATE VIEW hz_function_view AS SELECT count(DISTINCT p) AS n FROM hz_pairs_of();
CREATE VIEW hz_default_view AS SELECT hz_default() AS v;
CREATE VIEW hz_atomic_view AS SELECT hz_atomic() AS v;

-- Row security whose policy calls a volatile function (forced, so the owner is held to it;
-- the superuser bypasses it), and a view over that table.
CREATE TABLE hz_guarded (id integer PRIMARY KEY, note text);
INSERT INTO hz_guarded VALUES (1, 'guarded');
ALTER TABLE hz_guarded ENABLE ROW LEVEL SECURITY;
ALTER TABLE hz_guarded FORCE ROW LEVEL SECURITY;
CREATE POLICY hz_guarded_read ON hz_guarded FOR SELECT USING (hz_record('policy'));
CREATE VIEW hz_guarded_view AS SELECT id, note FROM hz_guarded;
RESET ROLE;

-- The superuser's: a base type whose input and output functions are labelled VOLATILE (a
-- base type's I/O functions are written in C; these are text's own, so calling them leaves
-- no trace: the refusal is the oracle).
CREATE TYPE hz_tag;
CREATE FUNCTION hz_tag_in(cstring) RETURNS hz_tag LANGUAGE internal VOLATILE STRICT AS 'textin';
CREATE FUNCTION hz_tag_out(hz_tag) RETURNS cstring LANGUAGE internal VOLATILE STRICT AS 'textout';
CREATE TYPE hz_tag (INPUT = hz_tag_in, OUTPUT = hz_tag_out, LIKE = text);
CREATE TABLE hz_tags (id integer PRIMARY KEY, t hz_tag);
INSERT INTO hz_tags VALUES (1, 'tagged');
ALTER TABLE hz_tags OWNER TO live_owner;

GRANT SELECT ON hz_pairs, hz_docs, hz_guarded, hz_tags, hz_calls_view, hz_chain_view, hz_chain2_view,
  hz_count_view, hz_compare_view, hz_function_view, hz_default_view, hz_atomic_view, hz_guarded_view
  TO live_reader;
RESET live.loading;
