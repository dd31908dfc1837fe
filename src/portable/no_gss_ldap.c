/* no_gss_ldap.c: stand-ins for the GSSAPI and LDAP calls in a statically linked libpq.
 *
 * Only the portable build (-DPGSAFE_PORTABLE=ON) compiles this file. Debian's libpq.a is
 * built with Kerberos (GSSAPI) and LDAP support, and Debian ships no static Kerberos or LDAP
 * libraries; linking them dynamically would bring back the very system libraries the
 * portable binary must not need. So the portable binary has neither: every GSSAPI call
 * reports failure and ldap_init returns NULL, and libpq then behaves as a libpq built
 * without them does:
 *   - gssencmode=prefer (the default) finds no credential cache and goes on without GSSAPI
 *     encryption; gssencmode=require fails to connect;
 *   - a server asking for GSSAPI authentication gets an error, not a connection;
 *   - an ldap:// lookup in a service file fails with "could not create LDAP structure".
 * TLS, SCRAM, MD5 and password authentication are untouched. Users who need Kerberos or
 * LDAP install the .deb, which links the system's libpq.
 *
 * The declarations follow RFC 2744 (GSSAPI C bindings) and OpenLDAP's ldap.h; the headers
 * themselves are not needed to build. */

#include <stddef.h>
#include <stdint.h>

typedef uint32_t OM_uint32;
typedef struct gss_buffer_desc_struct {
    size_t length; /* bytes in value */
    void *value;   /* owned by the GSSAPI library; released with gss_release_buffer */
} gss_buffer_desc;
typedef gss_buffer_desc *gss_buffer_t;
typedef void *gss_opaque; /* gss_name_t, gss_cred_id_t, gss_ctx_id_t, gss_OID, ... */

/* GSS_S_FAILURE: a routine error code, (13 << 16). */
#define NO_GSS_FAILURE ((OM_uint32)13u << 16)
#define NO_GSS_MESSAGE "GSSAPI is not available in the portable pgsafe binary"

/* libpq reads this OID's address; nothing reads through it because gss_import_name fails. */
void *GSS_C_NT_HOSTBASED_SERVICE = NULL;

OM_uint32 gss_acquire_cred(OM_uint32 *minor, gss_opaque name, OM_uint32 time_req, gss_opaque mechs, int usage,
                           gss_opaque *cred, gss_opaque *actual_mechs, OM_uint32 *time_rec);
OM_uint32 gss_import_name(OM_uint32 *minor, gss_buffer_t name_buffer, gss_opaque name_type, gss_opaque *name);
OM_uint32 gss_init_sec_context(OM_uint32 *minor, gss_opaque cred, gss_opaque *context, gss_opaque target,
                               gss_opaque mech, OM_uint32 flags, OM_uint32 time_req, gss_opaque bindings,
                               gss_buffer_t input, gss_opaque *actual_mech, gss_buffer_t output, OM_uint32 *ret_flags,
                               OM_uint32 *time_rec);
OM_uint32 gss_display_status(OM_uint32 *minor, OM_uint32 status, int status_type, gss_opaque mech,
                             OM_uint32 *message_context, gss_buffer_t status_string);
OM_uint32 gss_release_buffer(OM_uint32 *minor, gss_buffer_t buffer);
OM_uint32 gss_release_cred(OM_uint32 *minor, gss_opaque *cred);
OM_uint32 gss_release_name(OM_uint32 *minor, gss_opaque *name);
OM_uint32 gss_delete_sec_context(OM_uint32 *minor, gss_opaque *context, gss_buffer_t output);
OM_uint32 gss_wrap(OM_uint32 *minor, gss_opaque context, int conf_req, OM_uint32 qop, gss_buffer_t input,
                   int *conf_state, gss_buffer_t output);
OM_uint32 gss_unwrap(OM_uint32 *minor, gss_opaque context, gss_buffer_t input, gss_buffer_t output, int *conf_state,
                     OM_uint32 *qop);
OM_uint32 gss_wrap_size_limit(OM_uint32 *minor, gss_opaque context, int conf_req, OM_uint32 qop, OM_uint32 output_size,
                              OM_uint32 *max_input);

OM_uint32 gss_acquire_cred(OM_uint32 *minor, gss_opaque name, OM_uint32 time_req, gss_opaque mechs, int usage,
                           gss_opaque *cred, gss_opaque *actual_mechs, OM_uint32 *time_rec) {
    (void)name, (void)time_req, (void)mechs, (void)usage, (void)time_rec;
    *minor = 0;
    if (cred)
        *cred = NULL;
    if (actual_mechs)
        *actual_mechs = NULL;
    return NO_GSS_FAILURE;
}

OM_uint32 gss_import_name(OM_uint32 *minor, gss_buffer_t name_buffer, gss_opaque name_type, gss_opaque *name) {
    (void)name_buffer, (void)name_type;
    *minor = 0;
    *name = NULL;
    return NO_GSS_FAILURE;
}

OM_uint32 gss_init_sec_context(OM_uint32 *minor, gss_opaque cred, gss_opaque *context, gss_opaque target,
                               gss_opaque mech, OM_uint32 flags, OM_uint32 time_req, gss_opaque bindings,
                               gss_buffer_t input, gss_opaque *actual_mech, gss_buffer_t output, OM_uint32 *ret_flags,
                               OM_uint32 *time_rec) {
    (void)cred, (void)context, (void)target, (void)mech, (void)flags, (void)time_req, (void)bindings;
    (void)input, (void)ret_flags, (void)time_rec;
    *minor = 0;
    if (actual_mech)
        *actual_mech = NULL;
    if (output)
        output->length = 0, output->value = NULL;
    return NO_GSS_FAILURE;
}

/* libpq loops until *message_context is 0, printing each message: one static message. */
OM_uint32 gss_display_status(OM_uint32 *minor, OM_uint32 status, int status_type, gss_opaque mech,
                             OM_uint32 *message_context, gss_buffer_t status_string) {
    static char message[] = NO_GSS_MESSAGE;
    (void)status, (void)status_type, (void)mech;
    *minor = 0;
    *message_context = 0;
    status_string->length = sizeof message - 1;
    status_string->value = message;
    return 0;
}

/* Every buffer these stand-ins hand out is static or empty: nothing to free. */
OM_uint32 gss_release_buffer(OM_uint32 *minor, gss_buffer_t buffer) {
    *minor = 0;
    if (buffer)
        buffer->length = 0, buffer->value = NULL;
    return 0;
}

OM_uint32 gss_release_cred(OM_uint32 *minor, gss_opaque *cred) {
    *minor = 0;
    if (cred)
        *cred = NULL;
    return 0;
}

OM_uint32 gss_release_name(OM_uint32 *minor, gss_opaque *name) {
    *minor = 0;
    if (name)
        *name = NULL;
    return 0;
}

OM_uint32 gss_delete_sec_context(OM_uint32 *minor, gss_opaque *context, gss_buffer_t output) {
    *minor = 0;
    if (context)
        *context = NULL;
    if (output)
        output->length = 0, output->value = NULL;
    return 0;
}

OM_uint32 gss_wrap(OM_uint32 *minor, gss_opaque context, int conf_req, OM_uint32 qop, gss_buffer_t input,
                   int *conf_state, gss_buffer_t output) {
    (void)context, (void)conf_req, (void)qop, (void)input, (void)conf_state;
    *minor = 0;
    output->length = 0, output->value = NULL;
    return NO_GSS_FAILURE;
}

OM_uint32 gss_unwrap(OM_uint32 *minor, gss_opaque context, gss_buffer_t input, gss_buffer_t output, int *conf_state,
                     OM_uint32 *qop) {
    (void)context, (void)input, (void)conf_state, (void)qop;
    *minor = 0;
    output->length = 0, output->value = NULL;
    return NO_GSS_FAILURE;
}

OM_uint32 gss_wrap_size_limit(OM_uint32 *minor, gss_opaque context, int conf_req, OM_uint32 qop, OM_uint32 output_size,
                              OM_uint32 *max_input) {
    (void)context, (void)conf_req, (void)qop, (void)output_size;
    *minor = 0;
    *max_input = 0;
    return NO_GSS_FAILURE;
}

/* LDAP: ldap_init failing is the only path libpq can reach; the rest report errors. */
typedef struct ldap LDAP;
typedef struct ldapmsg LDAPMessage;
struct berval;
struct timeval;

LDAP *ldap_init(const char *host, int port);
int ldap_set_option(LDAP *ld, int option, const void *value);
int ldap_simple_bind(LDAP *ld, const char *who, const char *password);
int ldap_search_st(LDAP *ld, const char *base, int scope, const char *filter, char **attrs, int attrsonly,
                   struct timeval *timeout, LDAPMessage **result);
int ldap_result(LDAP *ld, int msgid, int all, struct timeval *timeout, LDAPMessage **result);
int ldap_count_entries(LDAP *ld, LDAPMessage *chain);
LDAPMessage *ldap_first_entry(LDAP *ld, LDAPMessage *chain);
struct berval **ldap_get_values_len(LDAP *ld, LDAPMessage *entry, const char *attr);
void ldap_value_free_len(struct berval **values);
int ldap_msgfree(LDAPMessage *message);
int ldap_unbind(LDAP *ld);
char *ldap_err2string(int error);

/* LDAP_OTHER: the generic failure code. */
#define NO_LDAP_FAILURE 0x50

LDAP *ldap_init(const char *host, int port) {
    (void)host, (void)port;
    return NULL;
}

int ldap_set_option(LDAP *ld, int option, const void *value) {
    (void)ld, (void)option, (void)value;
    return -1;
}

int ldap_simple_bind(LDAP *ld, const char *who, const char *password) {
    (void)ld, (void)who, (void)password;
    return -1;
}

int ldap_search_st(LDAP *ld, const char *base, int scope, const char *filter, char **attrs, int attrsonly,
                   struct timeval *timeout, LDAPMessage **result) {
    (void)ld, (void)base, (void)scope, (void)filter, (void)attrs, (void)attrsonly, (void)timeout;
    if (result)
        *result = NULL;
    return NO_LDAP_FAILURE;
}

int ldap_result(LDAP *ld, int msgid, int all, struct timeval *timeout, LDAPMessage **result) {
    (void)ld, (void)msgid, (void)all, (void)timeout;
    if (result)
        *result = NULL;
    return -1;
}

int ldap_count_entries(LDAP *ld, LDAPMessage *chain) {
    (void)ld, (void)chain;
    return -1;
}

LDAPMessage *ldap_first_entry(LDAP *ld, LDAPMessage *chain) {
    (void)ld, (void)chain;
    return NULL;
}

struct berval **ldap_get_values_len(LDAP *ld, LDAPMessage *entry, const char *attr) {
    (void)ld, (void)entry, (void)attr;
    return NULL;
}

void ldap_value_free_len(struct berval **values) {
    (void)values;
}

int ldap_msgfree(LDAPMessage *message) {
    (void)message;
    return 0;
}

int ldap_unbind(LDAP *ld) {
    (void)ld;
    return 0;
}

char *ldap_err2string(int error) {
    static char message[] = "LDAP is not available in the portable pgsafe binary";
    (void)error;
    return message;
}
