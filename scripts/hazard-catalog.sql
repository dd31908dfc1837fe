-- The hazards of a database: the objects through which a query can reach a volatile
-- function without naming it (guard_catalog's relation_hazard, type_hazard, function_hazard
-- and global_hazard, include/pgsafe/guard.h). One row per hazardous object: kind (type,
-- relation, function, global), schema, name and a one-line reason for the model. The
-- server's catalog loader is meant to run it beside its volatility query and to report the
-- rows in its posture at start; tried on PostgreSQL 15 and 18:
--   psql -X -At -f scripts/hazard-catalog.sql
-- An empty database gives no row (no built-in type is hazardous as shipped).
-- Volatile functions a query can reach without naming them, and the objects that reach them.
WITH RECURSIVE
volatile_fn AS (
  SELECT p.oid, p.oid::regprocedure::text AS name FROM pg_proc p WHERE p.provolatile = 'v'
),
-- Direct hazards of a type: its own support functions, the functions of operators and
-- casts on it, of its default operator classes' operators and support functions, and of
-- its domain CHECK constraints; ranges through their support functions.
direct_type AS (
  SELECT t.oid AS type_oid, format('its %s function %s is volatile', f.role, v.name) AS why
  FROM pg_type t
  CROSS JOIN LATERAL (VALUES ('input', t.typinput), ('output', t.typoutput), ('receive', t.typreceive),
                             ('send', t.typsend), ('type modifier input', t.typmodin),
                             ('type modifier output', t.typmodout), ('analyze', t.typanalyze),
                             ('subscript', t.typsubscript)) AS f(role, fn)
  JOIN volatile_fn v ON v.oid = f.fn
  UNION ALL
  SELECT ty, format('its %s operator calls volatile function %s', o.oprname, v.name)
  FROM pg_operator o JOIN volatile_fn v ON v.oid = o.oprcode
  CROSS JOIN LATERAL (VALUES (o.oprleft), (o.oprright)) AS s(ty) WHERE s.ty <> 0
  UNION ALL
  SELECT c.opcintype, format('its default %s operator class calls volatile function %s', am.amname, v.name)
  FROM pg_opclass c JOIN pg_am am ON am.oid = c.opcmethod
  JOIN pg_amproc ap ON ap.amprocfamily = c.opcfamily
  JOIN volatile_fn v ON v.oid = ap.amproc
  WHERE c.opcdefault
  UNION ALL
  SELECT s.ty, format('a cast %s calls volatile function %s', format_type(ca.castsource, NULL) || ' -> ' || format_type(ca.casttarget, NULL), v.name)
  FROM pg_cast ca JOIN volatile_fn v ON v.oid = ca.castfunc
  CROSS JOIN LATERAL (VALUES (ca.castsource), (ca.casttarget)) AS s(ty)
  UNION ALL
  SELECT con.contypid, format('its CHECK constraint %s calls volatile function %s', con.conname, v.name)
  FROM pg_constraint con
  JOIN pg_depend d ON d.classid = 'pg_constraint'::regclass AND d.objid = con.oid AND d.refclassid = 'pg_proc'::regclass
  JOIN volatile_fn v ON v.oid = d.refobjid
  WHERE con.contypid <> 0
  UNION ALL
  SELECT r.rngtypid, format('its range support function %s is volatile', v.name)
  FROM pg_range r JOIN volatile_fn v ON v.oid IN (r.rngcanonical, r.rngsubdiff)
),
-- What contains what: domains their base type, arrays their element, row types their
-- columns' types, ranges their subtype.
contains(outer_type, inner_type) AS (
  SELECT t.oid, t.typbasetype FROM pg_type t WHERE t.typbasetype <> 0
  UNION ALL
  SELECT t.oid, t.typelem FROM pg_type t WHERE t.typelem <> 0 AND t.typsubscript = 'array_subscript_handler'::regproc
  UNION ALL
  SELECT c.reltype, a.atttypid FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid
  WHERE a.attnum > 0 AND NOT a.attisdropped AND c.reltype <> 0
  UNION ALL
  SELECT r.rngtypid, r.rngsubtype FROM pg_range r
),
-- Through composition: domains over, arrays of, composites and ranges containing a hazard.
hazard_type(type_oid, why, depth) AS (
  SELECT type_oid, why, 0 FROM direct_type
  UNION
  SELECT c.outer_type, format('it contains %s, where %s', format_type(h.type_oid, NULL), h.why), h.depth + 1
  FROM hazard_type h JOIN contains c ON c.inner_type = h.type_oid
  WHERE h.depth < 8
),
-- Relations and functions that reach a hazard, as (class, oid): the base cases, then
-- whatever depends on one (a view over a view, a function whose default or SQL-standard body
-- uses one, a view over a table whose policy calls one), up to eight levels.
hazard_object(classid, objid, why, depth) AS (
  -- A column of a hazardous type (the relation's row type is then hazardous too).
  SELECT 'pg_class'::regclass, c.oid, format('column %s has type %s, where %s', a.attname, format_type(h.type_oid, NULL), h.why), 0
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN hazard_type h ON h.type_oid = a.atttypid
  UNION
  -- A view or materialized view whose rule calls a volatile function (materialized views
  -- ran it at refresh; listing them is conservative).
  SELECT 'pg_class'::regclass, rw.ev_class, format('its definition calls volatile function %s', v.name), 0
  FROM pg_rewrite rw
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid AND d.refclassid = 'pg_proc'::regclass
  JOIN volatile_fn v ON v.oid = d.refobjid
  UNION
  -- The same read from the rule's stored tree, which names built-in functions too
  -- (pg_depend records none, so a view over pg_advisory_lock or random() is found here).
  SELECT 'pg_class'::regclass, rw.ev_class, format('its definition calls volatile function %s', v.name), 0
  FROM pg_rewrite rw
  CROSS JOIN LATERAL regexp_matches(rw.ev_action::text, ':(funcid|aggfnoid|winfnoid) ([0-9]+)', 'g') AS m(x)
  JOIN volatile_fn v ON v.oid = m.x[2]::oid
  WHERE rw.oid >= 16384
  UNION
  -- A row security policy calling a volatile function, built-in ones included.
  SELECT 'pg_class'::regclass, pol.polrelid, format('row security policy %s calls volatile function %s', pol.polname, v.name), 0
  FROM pg_policy pol
  CROSS JOIN LATERAL regexp_matches(concat(pol.polqual, pol.polwithcheck)::text, ':(funcid|aggfnoid|winfnoid) ([0-9]+)', 'g') AS m(x)
  JOIN volatile_fn v ON v.oid = m.x[2]::oid
  UNION
  -- A view whose rule uses an operator that calls one (DISTINCT, GROUP BY, ORDER BY, joins).
  SELECT 'pg_class'::regclass, rw.ev_class, format('its definition uses operator %s, which calls volatile function %s', o.oprname, v.name), 0
  FROM pg_rewrite rw
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid AND d.refclassid = 'pg_operator'::regclass
  JOIN pg_operator o ON o.oid = d.refobjid JOIN volatile_fn v ON v.oid = o.oprcode
  UNION
  -- A view whose rule reads a column of a hazardous type (comparing or printing it calls one).
  SELECT 'pg_class'::regclass, rw.ev_class, format('its definition reads %s.%s of type %s, where %s', d.refobjid::regclass, a.attname, format_type(h.type_oid, NULL), h.why), 0
  FROM pg_rewrite rw
  JOIN pg_depend d ON d.classid = 'pg_rewrite'::regclass AND d.objid = rw.oid AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0
  JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
  JOIN hazard_type h ON h.type_oid = a.atttypid
  WHERE rw.ev_class <> d.refobjid
  UNION
  -- A row security policy that calls one (it runs for roles the policy applies to).
  SELECT 'pg_class'::regclass, pol.polrelid, format('row security policy %s calls volatile function %s', pol.polname, v.name), 0
  FROM pg_policy pol
  JOIN pg_depend d ON d.classid = 'pg_policy'::regclass AND d.objid = pol.oid AND d.refclassid = 'pg_proc'::regclass
  JOIN volatile_fn v ON v.oid = d.refobjid
  UNION
  -- A function that returns or takes a hazardous type, OUT and TABLE columns included.
  SELECT 'pg_proc'::regclass, p.oid, format('it returns or takes type %s, where %s', format_type(h.type_oid, NULL), h.why), 0
  FROM pg_proc p
  CROSS JOIN LATERAL unnest(coalesce(p.proallargtypes, p.proargtypes::oid[]) || p.prorettype) AS u(type_oid)
  JOIN hazard_type h ON h.type_oid = u.type_oid
  UNION
  -- A function whose parameter defaults, SQL-standard body or aggregate support functions
  -- call a volatile function (or an operator that does): calling it calls that.
  SELECT 'pg_proc'::regclass, p.oid, format('what it runs (parameter defaults, SQL-standard body, aggregate support) calls volatile function %s', v.name), 0
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
  LEFT JOIN pg_operator o ON d.refclassid = 'pg_operator'::regclass AND o.oid = d.refobjid
  JOIN volatile_fn v ON (d.refclassid = 'pg_proc'::regclass AND v.oid = d.refobjid) OR v.oid = o.oprcode
  WHERE v.oid <> p.oid
  UNION
  -- Whatever depends on one: a view's rule, a policy, a function.
  SELECT CASE WHEN d.classid = 'pg_proc'::regclass THEN d.classid ELSE 'pg_class'::regclass END,
         CASE WHEN d.classid = 'pg_proc'::regclass THEN d.objid ELSE coalesce(rw.ev_class, pol.polrelid) END,
         format(CASE WHEN d.classid = 'pg_policy'::regclass THEN 'row security policy %s uses %s, where %s'
                     ELSE 'its definition%s uses %s, where %s' END,
                pol.polname, pg_describe_object(h.classid, h.objid, 0), h.why),
         h.depth + 1
  FROM hazard_object h
  JOIN pg_depend d ON d.refclassid = h.classid AND d.refobjid = h.objid
  LEFT JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass AND rw.oid = d.objid
  LEFT JOIN pg_policy pol ON d.classid = 'pg_policy'::regclass AND pol.oid = d.objid
  WHERE h.depth < 8 AND d.deptype = 'n'
    AND (d.classid = 'pg_proc'::regclass OR rw.ev_class <> h.objid OR pol.polrelid IS NOT NULL)
)
SELECT 'type' AS kind, n.nspname, t.typname AS name, min(h.why) AS why
FROM hazard_type h JOIN pg_type t ON t.oid = h.type_oid JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') OR t.oid >= 16384
GROUP BY n.nspname, t.typname
UNION ALL
SELECT 'relation', n.nspname, c.relname, min(h.why)
FROM hazard_object h JOIN pg_class c ON c.oid = h.objid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE h.classid = 'pg_class'::regclass AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
GROUP BY n.nspname, c.relname
UNION ALL
SELECT 'function', n.nspname, p.proname, min(h.why)
FROM hazard_object h JOIN pg_proc p ON p.oid = h.objid JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE h.classid = 'pg_proc'::regclass AND n.nspname NOT IN ('pg_catalog', 'information_schema')
GROUP BY n.nspname, p.proname
UNION ALL
-- Global: a hazard on a built-in type (an implicit or assignment cast, an operator or a
-- default operator class added to it) can run inside any query.
SELECT 'global', n.nspname, t.typname, min(h.why)
FROM direct_type h JOIN pg_type t ON t.oid = h.type_oid JOIN pg_namespace n ON n.oid = t.typnamespace
WHERE t.oid < 16384
GROUP BY n.nspname, t.typname
ORDER BY 1, 2, 3;
