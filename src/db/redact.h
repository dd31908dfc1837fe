/* Keeping the connection password out of what pgsafe passes on from libpq. libpq quotes a
 * malformed DSN whole ("invalid percent-encoded token: "Top%zzS3cret"", the URI after an
 * unclosed "["), and those messages reach the model (tool errors, the instructions), stderr
 * and the audit log. Every libpq message goes through db_redact before it leaves src/db or
 * the one-shot commands' session.
 *
 *   char *safe = db_redact(PQerrorMessage(pg), conninfo, pg);   // caller frees
 */
#ifndef PGSAFE_DB_REDACT_H
#define PGSAFE_DB_REDACT_H

#include <libpq-fe.h>

/* What replaces a secret. */
#define DB_REDACTED "[redacted]"

/* A copy of message (caller frees) with every secret replaced by DB_REDACTED: the password
 * of conninfo (a URI's userinfo or password parameter, a key=value password, each as
 * written and decoded from percent-encoding or quoting), PGPASSWORD, the password pg
 * connects with (from the DSN, a service file or a password file; pg may be NULL), and any
 * password the message itself shows in those forms. NULL when out of memory: the caller
 * then passes on a fixed text instead, never the message. */
char *db_redact(const char *message, const char *conninfo, const PGconn *pg);

#endif
