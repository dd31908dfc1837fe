/* The catalog's queries as text: the objects with their volatility, the families of
 * inheritance and partitioning, the hidden-function hazards and the role's posture, each row
 * four text columns (kind, a, b, c) that catalog.c reads (db/catalog.h). Kept apart from the
 * reading because the SQL alone is a few hundred lines. */
#include "db/catalog.h"
#include "db/relations.h"

/* Functions, aggregates with their support functions, operators with their functions, and
 * types with their I/O functions, casts and the functions a domain's CHECK calls: the worst
 * volatility decides. Then every type's display name, then the posture rows. */
#define OBJECTS_SQL                                                                                                    \
    "SELECT 'f', n.nspname, p.proname, p.provolatile::text"                                                            \
    "  FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"                             \
    " WHERE n.nspname <> 'pg_catalog'"                                                                                 \
    " UNION ALL "                                                                                                      \
    "SELECT 'f', n.nspname, p.proname, s.provolatile::text"                                                            \
    "  FROM pg_catalog.pg_aggregate a JOIN pg_catalog.pg_proc p ON p.oid = a.aggfnoid"                                 \
    "  JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"                                                       \
    "  JOIN pg_catalog.pg_proc s ON s.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn, a.aggserialfn,"              \
    "       a.aggdeserialfn, a.aggmtransfn, a.aggminvtransfn, a.aggmfinalfn)"                                          \
    " WHERE n.nspname <> 'pg_catalog'"                                                                                 \
    " UNION ALL "                                                                                                      \
    "SELECT 'o', n.nspname, o.oprname, COALESCE(p.provolatile::text, 'u')"                                             \
    "  FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace"                         \
    "  LEFT JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode"                                                            \
    " WHERE n.nspname <> 'pg_catalog'"                                                                                 \
    " UNION ALL "                                                                                                      \
    "SELECT 't', n.nspname, t.typname, f.provolatile::text"                                                            \
    "  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"                             \
    "  JOIN pg_catalog.pg_proc f ON f.oid IN (t.typinput, t.typoutput, t.typreceive, t.typsend,"                       \
    "       t.typmodin, t.typmodout, t.typanalyze, t.typsubscript)"                                                    \
    " WHERE n.nspname <> 'pg_catalog'"                                                                                 \
    " UNION ALL "                                                                                                      \
    "SELECT 't', n.nspname, t.typname, f.provolatile::text"                                                            \
    "  FROM pg_catalog.pg_cast c JOIN pg_catalog.pg_proc f ON f.oid = c.castfunc"                                      \
    "  JOIN pg_catalog.pg_type t ON t.oid IN (c.castsource, c.casttarget)"                                             \
    "  JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"                                                       \
    " WHERE n.nspname <> 'pg_catalog'"                                                                                 \
    " UNION ALL "                                                                                                      \
    "SELECT 't', n.nspname, t.typname, f.provolatile::text"                                                            \
    "  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"                             \
    "  JOIN pg_catalog.pg_constraint con ON con.contypid = t.oid"                                                      \
    "  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass"                     \
    "       AND d.objid = con.oid"                                                                                     \
    "  LEFT JOIN pg_catalog.pg_operator o ON d.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass"             \
    "       AND o.oid = d.refobjid"                                                                                    \
    "  JOIN pg_catalog.pg_proc f ON (d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass"                         \
    "       AND f.oid = d.refobjid) OR f.oid = o.oprcode"                                                              \
    " WHERE n.nspname <> 'pg_catalog'"                                                                                 \
    " UNION ALL "                                                                                                      \
    "SELECT 'n', t.oid::text, pg_catalog.format_type(t.oid, NULL), NULL FROM pg_catalog.pg_type t"                     \
    " UNION ALL " FUNCTION_LINKS_SQL

/* What --deny-function must reach through operators and casts (db/function_links.h): the
 * function of every operator outside pg_catalog or added to it ('of'), and per type the
 * functions of the casts into it and its input function ('cf'), for user types and for
 * casts users added to built-in types. The function comes as "schema<US>name". */
#define FUNCTION_LINKS_SQL                                                                                             \
    "SELECT 'of', n.nspname, o.oprname, pg_catalog.concat(fn.nspname, pg_catalog.chr(31), p.proname)"                  \
    "  FROM pg_catalog.pg_operator o JOIN pg_catalog.pg_namespace n ON n.oid = o.oprnamespace"                         \
    "  JOIN pg_catalog.pg_proc p ON p.oid = o.oprcode JOIN pg_catalog.pg_namespace fn ON fn.oid = p.pronamespace"      \
    " WHERE n.nspname <> 'pg_catalog' OR o.oid >= 16384"                                                               \
    " UNION ALL "                                                                                                      \
    "SELECT 'cf', n.nspname, t.typname, pg_catalog.concat(fn.nspname, pg_catalog.chr(31), p.proname)"                  \
    "  FROM pg_catalog.pg_cast c JOIN pg_catalog.pg_type t ON t.oid = c.casttarget"                                    \
    "  JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"                                                       \
    "  JOIN pg_catalog.pg_proc p ON p.oid = c.castfunc JOIN pg_catalog.pg_namespace fn ON fn.oid = p.pronamespace"     \
    " WHERE n.nspname <> 'pg_catalog' OR c.oid >= 16384"                                                               \
    " UNION ALL "                                                                                                      \
    "SELECT 'cf', n.nspname, t.typname, pg_catalog.concat(fn.nspname, pg_catalog.chr(31), p.proname)"                  \
    "  FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace"                             \
    "  JOIN pg_catalog.pg_proc p ON p.oid = t.typinput JOIN pg_catalog.pg_namespace fn ON fn.oid = p.pronamespace"     \
    " WHERE n.nspname <> 'pg_catalog'"

/* Inheritance and partitioning: every relation on either side of pg_inherits ('rel': oid,
 * schema, name) and every (descendant, ancestor) pair of the transitive closure ('inh'). */
#define FAMILY_SQL                                                                                                     \
    "SELECT 'rel', c.oid::text, n.nspname, c.relname"                                                                  \
    "  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"                            \
    " WHERE c.oid IN (SELECT i.inhrelid FROM pg_catalog.pg_inherits i"                                                 \
    "                 UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i)"                                         \
    " UNION ALL "                                                                                                      \
    "(WITH RECURSIVE family(descendant, ancestor) AS ("                                                                \
    "   SELECT i.inhrelid, i.inhparent FROM pg_catalog.pg_inherits i"                                                  \
    "   UNION SELECT f.descendant, i.inhparent FROM family f JOIN pg_catalog.pg_inherits i ON i.inhrelid = "           \
    "f.ancestor)"                                                                                                      \
    " SELECT 'inh', f.descendant::text, f.ancestor::text, NULL FROM family f)"

/* The hazards (scripts/hazard-catalog.sql explains each part): objects through which a query
 * reaches a volatile function without naming it, as 'hazard type', 'hazard relation',
 * 'hazard function' and 'hazard global' rows (schema, name, why). Only objects created after
 * initdb (oid 16384 and up) can make one, so every catalog is read from there up: that keeps
 * the query to tens of milliseconds on an ordinary database (and its cost under the planner's
 * JIT threshold, whose compilation alone took seconds). Where it is narrower than the script:
 * an operator counts only when it is a comparison (=, <>, <, >, <=, >=: what CASE, IN,
 * USING pick without a name) or belongs to a default operator class (DISTINCT, GROUP BY,
 * ORDER BY); any other operator is reached only by naming it, which operator_volatility
 * judges. A built-in type is never a hazard itself (else every table with an integer column
 * would be one): what reaches it with built-in types alone is a global hazard, which
 * refuses every query, and what needs a user type too makes that user type a hazard. A
 * view's definition and a row security policy are also read from their stored trees (the
 * funcid fields): pg_depend records no built-in function, such as pg_advisory_lock. */
#define HAZARD_SQL                                                                                                     \
    "(WITH RECURSIVE volatile_fn AS ("                                                                                 \
    "   SELECT p.oid, p.oid::pg_catalog.regprocedure::text AS name FROM pg_catalog.pg_proc p"                          \
    "    WHERE p.provolatile = 'v'),"                                                                                  \
    " direct_type(type_oid, why, global) AS ("                                                                         \
    "   SELECT t.oid, pg_catalog.format('its %s function %s is volatile', f.role, v.name), false"                      \
    "     FROM pg_catalog.pg_type t"                                                                                   \
    "     CROSS JOIN LATERAL (VALUES ('input', t.typinput), ('output', t.typoutput), ('receive', t.typreceive),"       \
    "       ('send', t.typsend), ('type modifier input', t.typmodin), ('type modifier output', t.typmodout),"          \
    "       ('analyze', t.typanalyze), ('subscript', t.typsubscript)) AS f(role, fn)"                                  \
    "     JOIN volatile_fn v ON v.oid = f.fn WHERE t.oid >= 16384"                                                     \
    "   UNION ALL"                                                                                                     \
    "   SELECT s.ty, pg_catalog.format('its %s operator calls volatile function %s', o.oprname, v.name),"              \
    "          o.oprleft < 16384 AND o.oprright < 16384"                                                               \
    "     FROM pg_catalog.pg_operator o JOIN volatile_fn v ON v.oid = o.oprcode"                                       \
    "     CROSS JOIN LATERAL (VALUES (o.oprleft), (o.oprright)) AS s(ty)"                                              \
    "    WHERE s.ty <> 0 AND o.oid >= 16384 AND o.oprname IN ('=', '<>', '<', '>', '<=', '>=')"                        \
    "   UNION ALL"                                                                                                     \
    "   SELECT c.opcintype, pg_catalog.format('its default %s operator class calls volatile function %s',"             \
    "          am.amname, v.name), c.opcintype < 16384"                                                                \
    "     FROM pg_catalog.pg_opclass c JOIN pg_catalog.pg_am am ON am.oid = c.opcmethod"                               \
    "     JOIN pg_catalog.pg_amproc ap ON ap.amprocfamily = c.opcfamily JOIN volatile_fn v ON v.oid = ap.amproc"       \
    "    WHERE c.opcdefault AND (c.oid >= 16384 OR ap.oid >= 16384)"                                                   \
    "   UNION ALL"                                                                                                     \
    "   SELECT c.opcintype, pg_catalog.format('its default %s operator class''s operator %s calls volatile function "  \
    "%s',"                                                                                                             \
    "          am.amname, o.oprname, v.name), c.opcintype < 16384"                                                     \
    "     FROM pg_catalog.pg_opclass c JOIN pg_catalog.pg_am am ON am.oid = c.opcmethod"                               \
    "     JOIN pg_catalog.pg_amop ao ON ao.amopfamily = c.opcfamily"                                                   \
    "     JOIN pg_catalog.pg_operator o ON o.oid = ao.amopopr JOIN volatile_fn v ON v.oid = o.oprcode"                 \
    "    WHERE c.opcdefault AND (c.oid >= 16384 OR ao.oid >= 16384)"                                                   \
    "   UNION ALL"                                                                                                     \
    "   SELECT s.ty, pg_catalog.format('a cast %s -> %s calls volatile function %s',"                                  \
    "          pg_catalog.format_type(ca.castsource, NULL), pg_catalog.format_type(ca.casttarget, NULL), v.name),"     \
    "          ca.castsource < 16384 AND ca.casttarget < 16384"                                                        \
    "     FROM pg_catalog.pg_cast ca JOIN volatile_fn v ON v.oid = ca.castfunc"                                        \
    "     CROSS JOIN LATERAL (VALUES (ca.castsource), (ca.casttarget)) AS s(ty) WHERE ca.oid >= 16384"                 \
    "   UNION ALL"                                                                                                     \
    "   SELECT con.contypid, pg_catalog.format('its CHECK constraint %s calls volatile function %s', con.conname,"     \
    "          v.name), false"                                                                                         \
    "     FROM pg_catalog.pg_constraint con"                                                                           \
    "     JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_constraint'::pg_catalog.regclass"                  \
    "          AND d.objid = con.oid AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass"                     \
    "     JOIN volatile_fn v ON v.oid = d.refobjid WHERE con.contypid <> 0"                                            \
    "   UNION ALL"                                                                                                     \
    "   SELECT r.rngtypid, pg_catalog.format('its range support function %s is volatile', v.name), false"              \
    "     FROM pg_catalog.pg_range r JOIN volatile_fn v ON v.oid IN (r.rngcanonical, r.rngsubdiff)"                    \
    "    WHERE r.rngtypid >= 16384),"                                                                                  \
    " contains(outer_type, inner_type) AS ("                                                                           \
    "   SELECT t.oid, t.typbasetype FROM pg_catalog.pg_type t WHERE t.typbasetype <> 0 AND t.oid >= 16384"             \
    "   UNION ALL"                                                                                                     \
    "   SELECT t.oid, t.typelem FROM pg_catalog.pg_type t WHERE t.typelem <> 0 AND t.oid >= 16384"                     \
    "      AND t.typsubscript = 'pg_catalog.array_subscript_handler'::pg_catalog.regproc"                              \
    "   UNION ALL"                                                                                                     \
    "   SELECT c.reltype, a.atttypid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid"  \
    "    WHERE a.attnum > 0 AND NOT a.attisdropped AND c.reltype <> 0 AND c.oid >= 16384"                              \
    "   UNION ALL"                                                                                                     \
    "   SELECT r.rngtypid, r.rngsubtype FROM pg_catalog.pg_range r WHERE r.rngtypid >= 16384),"                        \
    " hazard_type(type_oid, why, depth) AS ("                                                                          \
    "   SELECT type_oid, why, 0 FROM direct_type WHERE type_oid >= 16384"                                              \
    "   UNION"                                                                                                         \
    "   SELECT c.outer_type, pg_catalog.format('it contains %s, where %s',"                                            \
    "          pg_catalog.format_type(h.type_oid, NULL), h.why), h.depth + 1"                                          \
    "     FROM hazard_type h JOIN contains c ON c.inner_type = h.type_oid WHERE h.depth < 8),"                         \
    " hazard_object(classid, objid, why, depth) AS ("                                                                  \
    "   SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, c.oid, pg_catalog.format('column %s has type %s, where "    \
    "%s',"                                                                                                             \
    "          a.attname, pg_catalog.format_type(h.type_oid, NULL), h.why), 0"                                         \
    "     FROM pg_catalog.pg_class c"                                                                                  \
    "     JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"                \
    "     JOIN hazard_type h ON h.type_oid = a.atttypid WHERE c.oid >= 16384"                                          \
    "   UNION"                                                                                                         \
    "   SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, rw.ev_class, pg_catalog.format("                            \
    "          'its definition calls volatile function %s', v.name), 0"                                                \
    "     FROM pg_catalog.pg_rewrite rw"                                                                               \
    "     JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"                     \
    "          AND d.objid = rw.oid AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass"                      \
    "     JOIN volatile_fn v ON v.oid = d.refobjid WHERE rw.oid >= 16384"                                              \
    "   UNION"                                                                                                         \
    "   SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, rw.ev_class, pg_catalog.format("                            \
    "          'its definition calls volatile function %s', v.name), 0"                                                \
    "     FROM pg_catalog.pg_rewrite rw"                                                                               \
    "     CROSS JOIN LATERAL pg_catalog.regexp_matches(rw.ev_action::text,"                                            \
    "          ':(funcid|aggfnoid|winfnoid) ([0-9]+)', 'g') AS m(x)"                                                   \
    "     JOIN volatile_fn v ON v.oid = m.x[2]::pg_catalog.oid WHERE rw.oid >= 16384"                                  \
    "   UNION"                                                                                                         \
    "   SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, pol.polrelid, pg_catalog.format("                           \
    "          'row security policy %s calls volatile function %s', pol.polname, v.name), 0"                           \
    "     FROM pg_catalog.pg_policy pol"                                                                               \
    "     CROSS JOIN LATERAL pg_catalog.regexp_matches(pg_catalog.concat(pol.polqual, pol.polwithcheck)::text,"        \
    "          ':(funcid|aggfnoid|winfnoid) ([0-9]+)', 'g') AS m(x)"                                                   \
    "     JOIN volatile_fn v ON v.oid = m.x[2]::pg_catalog.oid"                                                        \
    "   UNION"                                                                                                         \
    "   SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, rw.ev_class, pg_catalog.format("                            \
    "          'its definition uses operator %s, which calls volatile function %s', o.oprname, v.name), 0"             \
    "     FROM pg_catalog.pg_rewrite rw"                                                                               \
    "     JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"                     \
    "          AND d.objid = rw.oid AND d.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass"                  \
    "     JOIN pg_catalog.pg_operator o ON o.oid = d.refobjid JOIN volatile_fn v ON v.oid = o.oprcode"                 \
    "    WHERE rw.oid >= 16384"                                                                                        \
    "   UNION"                                                                                                         \
    "   SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, rw.ev_class, pg_catalog.format("                            \
    "          'its definition reads %s.%s of type %s, where %s', d.refobjid::pg_catalog.regclass, a.attname,"         \
    "          pg_catalog.format_type(h.type_oid, NULL), h.why), 0"                                                    \
    "     FROM pg_catalog.pg_rewrite rw"                                                                               \
    "     JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"                     \
    "          AND d.objid = rw.oid AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"                     \
    "          AND d.refobjsubid > 0"                                                                                  \
    "     JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"                      \
    "     JOIN hazard_type h ON h.type_oid = a.atttypid WHERE rw.ev_class <> d.refobjid AND rw.oid >= 16384"           \
    "   UNION"                                                                                                         \
    "   SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, pol.polrelid, pg_catalog.format("                           \
    "          'row security policy %s calls volatile function %s', pol.polname, v.name), 0"                           \
    "     FROM pg_catalog.pg_policy pol"                                                                               \
    "     JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass"                      \
    "          AND d.objid = pol.oid AND d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass"                     \
    "     JOIN volatile_fn v ON v.oid = d.refobjid"                                                                    \
    "   UNION"                                                                                                         \
    "   SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid, pg_catalog.format("                                   \
    "          'it returns or takes type %s, where %s', pg_catalog.format_type(h.type_oid, NULL), h.why), 0"           \
    "     FROM pg_catalog.pg_proc p"                                                                                   \
    "     CROSS JOIN LATERAL pg_catalog.unnest(COALESCE(p.proallargtypes, p.proargtypes::pg_catalog.oid[])"            \
    "          OPERATOR(pg_catalog.||) p.prorettype) AS u(type_oid)"                                                   \
    "     JOIN hazard_type h ON h.type_oid = u.type_oid WHERE p.oid >= 16384"                                          \
    "   UNION"                                                                                                         \
    "   SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid, pg_catalog.format("                                   \
    "          'what it runs (parameter defaults, SQL-standard body, aggregate support) calls volatile function %s', " \
    "v.name), 0"                                                                                                       \
    "     FROM pg_catalog.pg_proc p"                                                                                   \
    "     JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND d.objid = p.oid"    \
    "     LEFT JOIN pg_catalog.pg_operator o ON d.refclassid = 'pg_catalog.pg_operator'::pg_catalog.regclass"          \
    "          AND o.oid = d.refobjid"                                                                                 \
    "     JOIN volatile_fn v ON (d.refclassid = 'pg_catalog.pg_proc'::pg_catalog.regclass AND v.oid = d.refobjid)"     \
    "          OR v.oid = o.oprcode"                                                                                   \
    "    WHERE p.oid >= 16384 AND v.oid <> p.oid"                                                                      \
    "   UNION"                                                                                                         \
    "   SELECT CASE WHEN d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass THEN d.classid"                         \
    "               ELSE 'pg_catalog.pg_class'::pg_catalog.regclass END,"                                              \
    "          CASE WHEN d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass THEN d.objid"                           \
    "               ELSE COALESCE(rw.ev_class, pol.polrelid) END,"                                                     \
    "          pg_catalog.format(CASE WHEN d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass"                    \
    "                                 THEN 'row security policy %s uses %s, where %s'"                                 \
    "                                 ELSE 'its definition%s uses %s, where %s' END,"                                  \
    "                            pol.polname, pg_catalog.pg_describe_object(h.classid, h.objid, 0), h.why),"           \
    "          h.depth + 1"                                                                                            \
    "     FROM hazard_object h"                                                                                        \
    "     JOIN pg_catalog.pg_depend d ON d.refclassid = h.classid AND d.refobjid = h.objid"                            \
    "     LEFT JOIN pg_catalog.pg_rewrite rw ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"              \
    "          AND rw.oid = d.objid"                                                                                   \
    "     LEFT JOIN pg_catalog.pg_policy pol ON d.classid = 'pg_catalog.pg_policy'::pg_catalog.regclass"               \
    "          AND pol.oid = d.objid"                                                                                  \
    "    WHERE h.depth < 8 AND d.objid >= 16384 AND d.deptype = 'n'"                                                   \
    "      AND (d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass OR rw.ev_class <> h.objid"                       \
    "           OR pol.polrelid IS NOT NULL))"                                                                         \
    " SELECT 'hazard global', n.nspname, t.typname, pg_catalog.min(h.why)"                                             \
    "   FROM direct_type h JOIN pg_catalog.pg_type t ON t.oid = h.type_oid"                                            \
    "   JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE h.type_oid < 16384 AND h.global"                \
    "  GROUP BY n.nspname, t.typname"                                                                                  \
    " UNION ALL"                                                                                                       \
    " SELECT 'hazard relation', n.nspname, c.relname, pg_catalog.min(h.why)"                                           \
    "   FROM hazard_object h JOIN pg_catalog.pg_class c ON c.oid = h.objid"                                            \
    "   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"                                                      \
    "  WHERE h.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND c.relkind IN ('r', 'p', 'v', 'm', 'f')"        \
    "  GROUP BY n.nspname, c.relname"                                                                                  \
    " UNION ALL"                                                                                                       \
    " SELECT 'hazard function', n.nspname, p.proname, pg_catalog.min(h.why)"                                           \
    "   FROM hazard_object h JOIN pg_catalog.pg_proc p ON p.oid = h.objid"                                             \
    "   JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"                                                      \
    "  WHERE h.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass"                                                    \
    "  GROUP BY n.nspname, p.proname"                                                                                  \
    " UNION ALL"                                                                                                       \
    " SELECT 'hazard type', n.nspname, t.typname, pg_catalog.min(h.why)"                                               \
    "   FROM hazard_type h JOIN pg_catalog.pg_type t ON t.oid = h.type_oid"                                            \
    "   JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE t.oid >= 16384"                                 \
    "  GROUP BY n.nspname, t.typname)"

/* What --deny-function must reach although the query never names it (guard_catalog's
 * implicit_functions), whatever the function's volatility: 'implicit type', 'implicit
 * relation', 'implicit function', 'implicit global' and 'implicit builtin' rows (schema,
 * name, "function schema<US>function name<US>why"). The links are those of HAZARD_SQL
 * without its volatility filter: a user type's comparison operators, its default operator
 * classes' operators and support functions, its implicit casts, its own I/O functions, its
 * domain CHECKs and range support, through what contains it (domains, arrays, composites,
 * ranges); a relation's columns of such types, every function a view's definition or a
 * row security policy calls, and what the relations a view reads reach; a function that
 * takes or returns such a type, or whose parameter defaults call one. Expressions are
 * read from their stored trees (the funcid, opfuncid, opno ... fields), not pg_depend,
 * which records nothing about built-in functions. Users' implicit links between built-in
 * types are global. Last, the built-in functions PostgreSQL calls implicitly for built-in
 * types (I/O, implicit casts, comparison, sorting, hashing): one row per name. */
#define IMPLICIT_SQL                                                                                                   \
    "(WITH RECURSIVE link(type_oid, fn, why, global) AS ("                                                             \
    "    SELECT t.oid, f.fn::pg_catalog.oid, pg_catalog.format('its %s function %s', f.role, "                         \
    "f.fn::pg_catalog.regprocedure), false"                                                                            \
    "      FROM pg_catalog.pg_type t"                                                                                  \
    "      CROSS JOIN LATERAL (VALUES ('input', t.typinput), ('output', t.typoutput), ('receive', "                    \
    "t.typreceive),"                                                                                                   \
    "        ('send', t.typsend), ('type modifier input', t.typmodin), ('type modifier output', t.typmodout),"         \
    "        ('analyze', t.typanalyze), ('subscript', t.typsubscript)) AS f(role, fn)"                                 \
    "     WHERE t.oid >= 16384 AND f.fn::pg_catalog.oid >= 16384"                                                      \
    "    UNION ALL"                                                                                                    \
    "    SELECT s.ty, o.oprcode::pg_catalog.oid, pg_catalog.format('its %s operator calls %s', "                       \
    "o.oprname, o.oprcode::pg_catalog.regprocedure),"                                                                  \
    "           o.oprleft < 16384 AND o.oprright < 16384"                                                              \
    "      FROM pg_catalog.pg_operator o CROSS JOIN LATERAL (VALUES (o.oprleft), (o.oprright)) AS s(ty)"               \
    "     WHERE s.ty <> 0 AND o.oid >= 16384 AND o.oprcode <> 0 AND o.oprname IN ('=', '<>', '<', "                    \
    "'>', '<=', '>=')"                                                                                                 \
    "    UNION ALL"                                                                                                    \
    "    SELECT c.opcintype, ap.amproc::pg_catalog.oid, pg_catalog.format('its default %s operator "                   \
    "class calls %s', am.amname,"                                                                                      \
    "           ap.amproc::pg_catalog.regprocedure), c.opcintype < 16384"                                              \
    "      FROM pg_catalog.pg_opclass c JOIN pg_catalog.pg_am am ON am.oid = c.opcmethod"                              \
    "      JOIN pg_catalog.pg_amproc ap ON ap.amprocfamily = c.opcfamily"                                              \
    "     WHERE c.opcdefault AND (c.oid >= 16384 OR ap.oid >= 16384)"                                                  \
    "    UNION ALL"                                                                                                    \
    "    SELECT c.opcintype, o.oprcode::pg_catalog.oid, pg_catalog.format('the %s operator of its "                    \
    "default %s operator class calls %s',"                                                                             \
    "           o.oprname, am.amname, o.oprcode::pg_catalog.regprocedure), c.opcintype < 16384"                        \
    "      FROM pg_catalog.pg_opclass c JOIN pg_catalog.pg_am am ON am.oid = c.opcmethod"                              \
    "      JOIN pg_catalog.pg_amop ao ON ao.amopfamily = c.opcfamily JOIN pg_catalog.pg_operator o "                   \
    "ON o.oid = ao.amopopr"                                                                                            \
    "     WHERE c.opcdefault AND (c.oid >= 16384 OR ao.oid >= 16384) AND o.oprcode <> 0"                               \
    "    UNION ALL"                                                                                                    \
    "    SELECT s.ty, ca.castfunc, pg_catalog.format('its implicit cast %s -> %s calls %s', "                          \
    "pg_catalog.format_type(ca.castsource, NULL),"                                                                     \
    "           pg_catalog.format_type(ca.casttarget, NULL), ca.castfunc::pg_catalog.regprocedure),"                   \
    "           ca.castsource < 16384 AND ca.casttarget < 16384"                                                       \
    "      FROM pg_catalog.pg_cast ca CROSS JOIN LATERAL (VALUES (ca.castsource), (ca.casttarget)) AS s(ty)"           \
    "     WHERE ca.oid >= 16384 AND ca.castfunc <> 0 AND ca.castcontext <> 'e'"                                        \
    "    UNION ALL"                                                                                                    \
    "    SELECT con.contypid, e.fn, pg_catalog.format('its CHECK constraint %s calls %s', con.conname,"                \
    "           e.fn::pg_catalog.regprocedure), false"                                                                 \
    "      FROM pg_catalog.pg_constraint con CROSS JOIN LATERAL (SELECT CASE WHEN m.x[1] IN ('eqop', "                 \
    "'sortop', 'opno') THEN o.oprcode::pg_catalog.oid ELSE m.x[2]::pg_catalog.oid END"                                 \
    "    FROM pg_catalog.regexp_matches(con.conbin::text,"                                                             \
    "         ':(funcid|opfuncid|hashfuncid|negfuncid|aggfnoid|winfnoid|eqop|sortop|opno) ([0-9]+)', "                 \
    "'g') AS m(x)"                                                                                                     \
    "    LEFT JOIN pg_catalog.pg_operator o ON o.oid = m.x[2]::pg_catalog.oid"                                         \
    "   UNION ALL"                                                                                                     \
    "   SELECT o.oprcode::pg_catalog.oid"                                                                              \
    "    FROM pg_catalog.regexp_matches(con.conbin::text, ':opnos \\(o ([0-9 ]+)\\)', 'g') AS m(x)"                    \
    "    CROSS JOIN LATERAL pg_catalog.unnest(pg_catalog.string_to_array(m.x[1], ' ')) AS u(opno)"                     \
    "    JOIN pg_catalog.pg_operator o ON o.oid = u.opno::pg_catalog.oid) AS e(fn)"                                    \
    "     WHERE con.contypid >= 16384 AND con.conbin IS NOT NULL AND e.fn <> 0"                                        \
    "    UNION ALL"                                                                                                    \
    "    SELECT r.rngtypid, s.fn::pg_catalog.oid, pg_catalog.format('its range support function %s', "                 \
    "s.fn::pg_catalog.regprocedure), false"                                                                            \
    "      FROM pg_catalog.pg_range r CROSS JOIN LATERAL (VALUES (r.rngcanonical), (r.rngsubdiff)) AS s(fn)"           \
    "     WHERE r.rngtypid >= 16384 AND s.fn <> 0),"                                                                   \
    "  contains(outer_type, inner_type) AS ("                                                                          \
    "    SELECT t.oid, t.typbasetype FROM pg_catalog.pg_type t WHERE t.typbasetype <> 0 AND t.oid >= 16384"            \
    "    UNION ALL"                                                                                                    \
    "    SELECT t.oid, t.typelem FROM pg_catalog.pg_type t WHERE t.typelem <> 0 AND t.oid >= 16384"                    \
    "       AND t.typsubscript = 'pg_catalog.array_subscript_handler'::pg_catalog.regproc"                             \
    "    UNION ALL"                                                                                                    \
    "    SELECT c.reltype, a.atttypid FROM pg_catalog.pg_class c JOIN pg_catalog.pg_attribute a ON "                   \
    "a.attrelid = c.oid"                                                                                               \
    "     WHERE a.attnum > 0 AND NOT a.attisdropped AND c.reltype <> 0 AND c.oid >= 16384"                             \
    "    UNION ALL"                                                                                                    \
    "    SELECT r.rngtypid, r.rngsubtype FROM pg_catalog.pg_range r WHERE r.rngtypid >= 16384),"                       \
    "  reach(type_oid, fn, why, depth) AS ("                                                                           \
    "    SELECT type_oid, fn, why, 0 FROM link WHERE type_oid >= 16384"                                                \
    "    UNION"                                                                                                        \
    "    SELECT c.outer_type, r.fn, pg_catalog.format('it contains %s, where %s', "                                    \
    "pg_catalog.format_type(r.type_oid, NULL), r.why),"                                                                \
    "           r.depth + 1"                                                                                           \
    "      FROM reach r JOIN contains c ON c.inner_type = r.type_oid WHERE r.depth < 8),"                              \
    "  direct_relation(rel_oid, fn, why) AS ("                                                                         \
    "    SELECT c.oid, r.fn, pg_catalog.format('column %s has type %s, where %s', a.attname, "                         \
    "pg_catalog.format_type(r.type_oid, NULL), r.why)"                                                                 \
    "      FROM pg_catalog.pg_class c"                                                                                 \
    "      JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped"               \
    "      JOIN reach r ON r.type_oid = a.atttypid WHERE c.oid >= 16384"                                               \
    "    UNION ALL"                                                                                                    \
    "    SELECT rw.ev_class, e.fn, pg_catalog.format('its definition calls %s', "                                      \
    "e.fn::pg_catalog.regprocedure)"                                                                                   \
    "      FROM pg_catalog.pg_rewrite rw CROSS JOIN LATERAL (SELECT CASE WHEN m.x[1] IN ('eqop', "                     \
    "'sortop', 'opno') THEN o.oprcode::pg_catalog.oid ELSE m.x[2]::pg_catalog.oid END"                                 \
    "    FROM pg_catalog.regexp_matches(rw.ev_action::text,"                                                           \
    "         ':(funcid|opfuncid|hashfuncid|negfuncid|aggfnoid|winfnoid|eqop|sortop|opno) ([0-9]+)', "                 \
    "'g') AS m(x)"                                                                                                     \
    "    LEFT JOIN pg_catalog.pg_operator o ON o.oid = m.x[2]::pg_catalog.oid"                                         \
    "   UNION ALL"                                                                                                     \
    "   SELECT o.oprcode::pg_catalog.oid"                                                                              \
    "    FROM pg_catalog.regexp_matches(rw.ev_action::text, ':opnos \\(o ([0-9 ]+)\\)', 'g') AS m(x)"                  \
    "    CROSS JOIN LATERAL pg_catalog.unnest(pg_catalog.string_to_array(m.x[1], ' ')) AS u(opno)"                     \
    "    JOIN pg_catalog.pg_operator o ON o.oid = u.opno::pg_catalog.oid) AS e(fn)"                                    \
    "     WHERE rw.oid >= 16384 AND e.fn <> 0"                                                                         \
    "    UNION ALL"                                                                                                    \
    "    SELECT rw.ev_class, r.fn, pg_catalog.format('its definition reads %s.%s of type %s, where %s',"               \
    "           d.refobjid::pg_catalog.regclass, a.attname, pg_catalog.format_type(r.type_oid, NULL), r.why)"          \
    "      FROM pg_catalog.pg_rewrite rw"                                                                              \
    "      JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass "                   \
    "AND d.objid = rw.oid"                                                                                             \
    "       AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.refobjsubid > 0"                       \
    "      JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"                     \
    "      JOIN reach r ON r.type_oid = a.atttypid WHERE rw.ev_class <> d.refobjid AND rw.oid >= 16384"                \
    "    UNION ALL"                                                                                                    \
    "    SELECT pol.polrelid, e.fn, pg_catalog.format('row security policy %s calls %s', pol.polname,"                 \
    "           e.fn::pg_catalog.regprocedure)"                                                                        \
    "      FROM pg_catalog.pg_policy pol CROSS JOIN LATERAL (SELECT CASE WHEN m.x[1] IN ('eqop', "                     \
    "'sortop', 'opno') THEN o.oprcode::pg_catalog.oid ELSE m.x[2]::pg_catalog.oid END"                                 \
    "    FROM pg_catalog.regexp_matches(pg_catalog.concat(pol.polqual, pol.polwithcheck)::text,"                       \
    "         ':(funcid|opfuncid|hashfuncid|negfuncid|aggfnoid|winfnoid|eqop|sortop|opno) ([0-9]+)', "                 \
    "'g') AS m(x)"                                                                                                     \
    "    LEFT JOIN pg_catalog.pg_operator o ON o.oid = m.x[2]::pg_catalog.oid"                                         \
    "   UNION ALL"                                                                                                     \
    "   SELECT o.oprcode::pg_catalog.oid"                                                                              \
    "    FROM pg_catalog.regexp_matches(pg_catalog.concat(pol.polqual, pol.polwithcheck)::text, "                      \
    "':opnos \\(o ([0-9 ]+)\\)', 'g') AS m(x)"                                                                         \
    "    CROSS JOIN LATERAL pg_catalog.unnest(pg_catalog.string_to_array(m.x[1], ' ')) AS u(opno)"                     \
    "    JOIN pg_catalog.pg_operator o ON o.oid = u.opno::pg_catalog.oid) AS e(fn)"                                    \
    "     WHERE e.fn <> 0),"                                                                                           \
    "  relation_link(rel_oid, fn, why, depth) AS ("                                                                    \
    "    SELECT rel_oid, fn, why, 0 FROM direct_relation"                                                              \
    "    UNION"                                                                                                        \
    "    SELECT rw.ev_class, l.fn, pg_catalog.format('it reads %s, where %s', "                                        \
    "l.rel_oid::pg_catalog.regclass, l.why), l.depth + 1"                                                              \
    "      FROM relation_link l"                                                                                       \
    "      JOIN pg_catalog.pg_depend d ON d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass "                  \
    "AND d.refobjid = l.rel_oid"                                                                                       \
    "       AND d.classid = 'pg_catalog.pg_rewrite'::pg_catalog.regclass"                                              \
    "      JOIN pg_catalog.pg_rewrite rw ON rw.oid = d.objid WHERE rw.ev_class <> l.rel_oid AND l.depth < 8),"         \
    "  builtin(fn, why) AS ("                                                                                          \
    "    SELECT f.fn::pg_catalog.oid, 'to read or print values of a built-in type' FROM pg_catalog.pg_type t"          \
    "      CROSS JOIN LATERAL (VALUES (t.typinput), (t.typoutput), (t.typreceive), (t.typsend), "                      \
    "(t.typmodin), (t.typmodout),"                                                                                     \
    "        (t.typanalyze), (t.typsubscript)) AS f(fn) WHERE t.oid < 16384"                                           \
    "    UNION ALL"                                                                                                    \
    "    SELECT ca.castfunc, 'in an implicit cast between built-in types' FROM pg_catalog.pg_cast ca"                  \
    "     WHERE ca.oid < 16384 AND ca.castcontext <> 'e'"                                                              \
    "    UNION ALL"                                                                                                    \
    "    SELECT o.oprcode::pg_catalog.oid, 'to compare values of a built-in type (IN, CASE, JOIN "                     \
    "USING, DISTINCT, GROUP BY, ORDER BY, UNION)'"                                                                     \
    "      FROM pg_catalog.pg_operator o WHERE o.oid < 16384 AND o.oprname IN ('=', '<>', '<', '>', "                  \
    "'<=', '>=')"                                                                                                      \
    "    UNION ALL"                                                                                                    \
    "    SELECT ap.amproc::pg_catalog.oid, 'to sort, hash or index values of a built-in type'"                         \
    "      FROM pg_catalog.pg_opclass c JOIN pg_catalog.pg_amproc ap ON ap.amprocfamily = c.opcfamily"                 \
    "     WHERE c.opcdefault AND c.oid < 16384"                                                                        \
    "    UNION ALL"                                                                                                    \
    "    SELECT o.oprcode::pg_catalog.oid, 'to sort, hash or index values of a built-in type'"                         \
    "      FROM pg_catalog.pg_opclass c JOIN pg_catalog.pg_amop ao ON ao.amopfamily = c.opcfamily"                     \
    "      JOIN pg_catalog.pg_operator o ON o.oid = ao.amopopr WHERE c.opcdefault AND c.oid < 16384),"                 \
    "  found(kind, schema, name, fn, why) AS ("                                                                        \
    "    SELECT 'implicit type', n.nspname, t.typname, r.fn, r.why"                                                    \
    "      FROM reach r JOIN pg_catalog.pg_type t ON t.oid = r.type_oid JOIN pg_catalog.pg_namespace "                 \
    "n ON n.oid = t.typnamespace"                                                                                      \
    "    UNION ALL"                                                                                                    \
    "    SELECT 'implicit global', '', '', l.fn, pg_catalog.format('type %s: %s', "                                    \
    "pg_catalog.format_type(l.type_oid, NULL), l.why)"                                                                 \
    "      FROM link l WHERE l.global"                                                                                 \
    "    UNION ALL"                                                                                                    \
    "    SELECT 'implicit relation', n.nspname, c.relname, l.fn, l.why"                                                \
    "      FROM relation_link l JOIN pg_catalog.pg_class c ON c.oid = l.rel_oid"                                       \
    "      JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p', "                    \
    "'v', 'm', 'f')"                                                                                                   \
    "    UNION ALL"                                                                                                    \
    "    SELECT 'implicit function', n.nspname, p.proname, r.fn,"                                                      \
    "           pg_catalog.format('it returns or takes type %s, where %s', "                                           \
    "pg_catalog.format_type(r.type_oid, NULL), r.why)"                                                                 \
    "      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"                         \
    "      CROSS JOIN LATERAL pg_catalog.unnest(COALESCE(p.proallargtypes, p.proargtypes::pg_catalog.oid[])"           \
    "           OPERATOR(pg_catalog.||) p.prorettype) AS u(type_oid)"                                                  \
    "      JOIN reach r ON r.type_oid = u.type_oid WHERE p.oid >= 16384"                                               \
    "    UNION ALL"                                                                                                    \
    "    SELECT 'implicit function', n.nspname, p.proname, e.fn,"                                                      \
    "           pg_catalog.format('a default of its parameters calls %s', e.fn::pg_catalog.regprocedure)"              \
    "      FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace"                         \
    "      CROSS JOIN LATERAL (SELECT CASE WHEN m.x[1] IN ('eqop', 'sortop', 'opno') THEN "                            \
    "o.oprcode::pg_catalog.oid ELSE m.x[2]::pg_catalog.oid END"                                                        \
    "    FROM pg_catalog.regexp_matches(p.proargdefaults::text,"                                                       \
    "         ':(funcid|opfuncid|hashfuncid|negfuncid|aggfnoid|winfnoid|eqop|sortop|opno) ([0-9]+)', "                 \
    "'g') AS m(x)"                                                                                                     \
    "    LEFT JOIN pg_catalog.pg_operator o ON o.oid = m.x[2]::pg_catalog.oid"                                         \
    "   UNION ALL"                                                                                                     \
    "   SELECT o.oprcode::pg_catalog.oid"                                                                              \
    "    FROM pg_catalog.regexp_matches(p.proargdefaults::text, ':opnos \\(o ([0-9 ]+)\\)', 'g') AS m(x)"              \
    "    CROSS JOIN LATERAL pg_catalog.unnest(pg_catalog.string_to_array(m.x[1], ' ')) AS u(opno)"                     \
    "    JOIN pg_catalog.pg_operator o ON o.oid = u.opno::pg_catalog.oid) AS e(fn)"                                    \
    "     WHERE p.oid >= 16384 AND p.proargdefaults IS NOT NULL AND e.fn <> 0"                                         \
    "    UNION ALL"                                                                                                    \
    "    SELECT 'implicit builtin', 'pg_catalog', '', b.fn, b.why FROM builtin b WHERE b.fn <> 0)"                     \
    "  SELECT f.kind, f.schema, CASE WHEN f.kind = 'implicit builtin' THEN p.proname ELSE f.name END,"                 \
    "         pg_catalog.concat(fn.nspname, pg_catalog.chr(31), p.proname, pg_catalog.chr(31), "                       \
    "pg_catalog.min(f.why))"                                                                                           \
    "    FROM found f JOIN pg_catalog.pg_proc p ON p.oid = f.fn JOIN pg_catalog.pg_namespace fn ON "                   \
    "fn.oid = p.pronamespace"                                                                                          \
    "   GROUP BY f.kind, f.schema, 3, fn.nspname, p.proname)"

/* Who we are and why we could write, if we could. Newer majors: 17's MAINTAIN privilege
 * and pg_maintain role (VACUUM, ANALYZE, REFRESH MATERIALIZED VIEW, LOCK TABLE) and 16's
 * pg_create_subscription (subscriptions write into tables) count as writing; from 16 a
 * membership counts only when it conveys something (INHERIT, or SET to become the role).
 * 16's pg_use_reserved_connections and 18's pg_signal_autovacuum_worker change no data and
 * are not counted, like pg_signal_backend. */
#define POSTURE_SQL                                                                                                    \
    "SELECT 'role', current_user, pg_catalog.current_database(), pg_catalog.current_setting('server_version')"         \
    " UNION ALL "                                                                                                      \
    "SELECT 'attribute', a.attribute, NULL, NULL FROM pg_catalog.pg_roles r,"                                          \
    "  LATERAL (VALUES ('superuser', r.rolsuper), ('createrole', r.rolcreaterole), ('createdb', r.rolcreatedb),"       \
    "                  ('replication', r.rolreplication), ('bypassrls', r.rolbypassrls)) a(attribute, held)"           \
    " WHERE r.rolname = current_user AND a.held"                                                                       \
    " UNION ALL "                                                                                                      \
    "(SELECT 'write', pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname),"                  \
    "        pg_catalog.count(*) OVER ()::text, NULL"                                                                  \
    "   FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"                           \
    "  WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'"   \
    "    AND ((c.relkind IN ('r', 'p', 'v', 'm', 'f')"                                                                 \
    "          AND (pg_catalog.has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')"                         \
    "               OR pg_catalog.has_any_column_privilege(c.oid, 'INSERT, UPDATE')"                                   \
    "               OR CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 170000"                      \
    "                    AND c.relkind IN ('r', 'p', 'm')"                                                             \
    "                  THEN pg_catalog.has_table_privilege(c.oid, 'MAINTAIN') ELSE false END))"                        \
    "         OR (c.relkind = 'S' AND pg_catalog.has_sequence_privilege(c.oid, 'USAGE, UPDATE')))"                     \
    "  ORDER BY 2 LIMIT 3)"                                                                                            \
    " UNION ALL "                                                                                                      \
    "SELECT 'create', pg_catalog.quote_ident(n.nspname), NULL, NULL FROM pg_catalog.pg_namespace n"                    \
    " WHERE pg_catalog.has_schema_privilege(n.oid, 'CREATE') AND n.nspname !~ '^pg_(toast|temp_|toast_temp_)'"         \
    " UNION ALL "                                                                                                      \
    "SELECT 'create', 'database ' || pg_catalog.quote_ident(pg_catalog.current_database()), NULL, NULL"                \
    " WHERE pg_catalog.has_database_privilege(pg_catalog.current_database(), 'CREATE')"                                \
    " UNION ALL "                                                                                                      \
    "SELECT 'member', m.rolname::text, NULL, NULL FROM pg_catalog.pg_roles m"                                          \
    " WHERE m.rolname IN ('pg_read_server_files', 'pg_write_server_files', 'pg_execute_server_program',"               \
    "                     'pg_maintain', 'pg_create_subscription')"                                                    \
    "   AND " CATALOG_HOLDS_ROLE_SQL("m.oid")

static const char load_sql[] =
    OBJECTS_SQL " UNION ALL " FAMILY_SQL " UNION ALL " POSTURE_SQL " UNION ALL " HAZARD_SQL " UNION ALL " IMPLICIT_SQL;
/* The hazards come with the posture, so that the first answer to a client can name them. */
static const char posture_sql[] = POSTURE_SQL " UNION ALL " HAZARD_SQL;

const char *catalog_load_sql(void) {
    return load_sql;
}

/* With every relation, its columns and ancestors, for --tables and --deny-columns. */
static const char load_relations_sql[] =
    OBJECTS_SQL " UNION ALL " FAMILY_SQL " UNION ALL " RELATIONS_SQL " UNION ALL " POSTURE_SQL " UNION ALL " HAZARD_SQL
                " UNION ALL " IMPLICIT_SQL;

const char *catalog_load_relations_sql(void) {
    return load_relations_sql;
}

const char *catalog_posture_sql(void) {
    return posture_sql;
}
