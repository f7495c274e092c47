/* reload-access.h: RELOAD access control policies (RFC 6940 §7.3, RFC 8076).
 *
 * USER-MATCH, NODE-MATCH, USER-NODE-MATCH, NODE-MULTIPLE and USER-CHAIN-ACL
 * (with the ACCESS-CONTROL-LIST kind, isolation rules, revocation and
 * variable resource names).  The storing peer runs disco_reload_access_check()
 * for every value of every Store, after the value's signature verified; an
 * accessing peer can run disco_reload_access_chain_valid() on a fetched ACL.
 *
 * The RFC 8076 §6.6 owner/delegate interpretation is pinned in ONE place:
 * access_user_chain_acl() in reload-access.c.
 *
 * Ownership: the context and request structs only borrow.
 */
#pragma once

#include <glib.h>

#include "reload-config.h"
#include "reload-usages.h"
#include "reload-wire.h"

G_BEGIN_DECLS

/* Bounds on the ACL chain walk: delegation loops are syntactically possible. */
#define DISCO_RELOAD_ACL_MAX_DEPTH 16
#define DISCO_RELOAD_ACL_MAX_STEPS 1024

/* One current ACCESS-CONTROL-LIST value at the resource. */
typedef struct
{
  guint32 index;
  DiscoReloadAclItem item; /* owned */
  char *signer_user;       /* owned: user name of the item's signer */
} DiscoReloadAclEntry;

DiscoReloadAclEntry *disco_reload_acl_entry_new (guint32 index,
                                                 const DiscoReloadAclItem *item_steal,
                                                 const char *signer_user);
void disco_reload_acl_entry_free (DiscoReloadAclEntry *e);

typedef struct
{
  const DiscoReloadConfig *config;
  const DiscoReloadKindConfig *kind; /* the kind being written */
  const DiscoReloadResourceId *resource;
  GPtrArray
      *acl; /* DiscoReloadAclEntry*: the most recent ACL (existing values only); may be NULL */
} DiscoReloadAccessContext;

typedef struct
{
  const DiscoReloadStoredDataValue *value;
  const char *signer_user;              /* rfc822Name of the signing certificate, may be NULL */
  const DiscoReloadNodeId *signer_node; /* the Node-ID the signer identity selected */
  /* The value this write replaces, if any. */
  gboolean replaces;
  const char *prev_signer_user;
  const DiscoReloadNodeId *prev_signer_node;
  const char *prev_resource_name; /* its ResourceNameExtension, for deletions */
} DiscoReloadAccessRequest;

/* TRUE if the write is allowed; else FALSE with a DISCO_RELOAD_USAGE_ERROR
 * FORBIDDEN (or MALFORMED) error saying why.  Either way the node answers a
 * refusal with Error_Forbidden. */
gboolean disco_reload_access_check (const DiscoReloadAccessContext *ctx,
                                    const DiscoReloadAccessRequest *req, GError **error);

/* Re-judges a value already stored under USER-CHAIN-ACL against the
 * current ACL (after revocations or expiry of grants): TRUE if its signer
 * @signer_user is the owner or still holds a valid chain.  Deletion markers
 * are always valid.  Used by the storing peer before serving a value. */
gboolean disco_reload_access_still_valid (const DiscoReloadAccessContext *ctx,
                                          const DiscoReloadStoredDataValue *value,
                                          const char *signer_user);

/* Is @user the Resource Owner of ctx->resource, given the resource name
 * @name (NULL: only the user name itself counts)?  (user name hashes to the
 * Resource-ID, or @name hashes to it and matches one of the kind's variable
 * resource name patterns with @user's $USER / $DOMAIN.) */
gboolean disco_reload_access_is_owner (const DiscoReloadAccessContext *ctx, const char *user,
                                       const char *name);

/* RFC 8076 §6.3 chain: does the ACL grant @user write access to @kind at
 * the resource (with allow_delegation when @need_delegation)?  The root must
 * be signed by the Resource Owner, judged with @name. */
gboolean disco_reload_access_chain_valid (const DiscoReloadAccessContext *ctx, const char *user,
                                          DiscoReloadKindId kind, gboolean need_delegation,
                                          const char *name);

/* The ResourceNameExtension at the start of a value of a kind with variable
 * names, or NULL (no extension / malformed). */
char *disco_reload_access_value_resource_name (const DiscoReloadKindConfig *kind, GBytes *value);

G_END_DECLS
