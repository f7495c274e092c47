/* conference-info.h: RFC 4575 conference-info documents with libxml2.
 *
 * Building blocks for the focus's documents (full, partial, deleted) with
 * the DisCo extension namespace (server/disco-conference-info.xsd), a
 * hardened parser for documents received from other foci, and the RFC 4575
 * §4.6 receiver algorithm (version check, full replace, partial merge).
 *
 * Ownership: functions returning xmlDoc * or char * give the caller a new
 * object (xmlFreeDoc / g_free).  Nodes returned by the child helpers belong
 * to their document.
 */
#pragma once

#include <glib.h>
#include <libxml/tree.h>

G_BEGIN_DECLS

#define DISCO_CI_NS "urn:ietf:params:xml:ns:conference-info"
#define DISCO_DC_NS "urn:x-disco:params:xml:ns:focus-state"
#define DISCO_CI_MIME "application/conference-info+xml"
/* Documents larger than this are refused before parsing. */
#define DISCO_CI_MAX_BYTES (512 * 1024)

#define DISCO_CI_ERROR (disco_ci_error_quark ())
GQuark disco_ci_error_quark (void);

typedef enum
{
  DISCO_CI_ERROR_PARSE,
  DISCO_CI_ERROR_INVALID,
} DiscoCiError;

typedef enum
{
  DISCO_CI_MERGE_APPLIED,      /* partial document merged */
  DISCO_CI_MERGE_REPLACED,     /* full document replaced the local copy */
  DISCO_CI_MERGE_DELETED,      /* root state="deleted": conference gone */
  DISCO_CI_MERGE_STALE,        /* version not newer: discarded */
  DISCO_CI_MERGE_NEED_REFRESH, /* version gap or partial without base: refresh */
} DiscoCiMergeResult;

/* A new document with root <conference-info entity state version> and the
 * dc namespace declared.  @root_out (optional) gets the root element. */
xmlDoc *disco_ci_doc_new (const char *entity, const char *state, guint32 version,
                          xmlNode **root_out);

/* Appends <name>text</name> in the RFC 4575 / DisCo namespace; @text may be NULL. */
xmlNode *disco_ci_add (xmlNode *parent, const char *name, const char *text);
xmlNode *disco_ci_add_dc (xmlNode *parent, const char *name, const char *text);

/* First child element with this namespace and local name, or NULL. */
xmlNode *disco_ci_find (xmlNode *parent, const char *ns, const char *name);
/* Text content of the first such child; caller frees; NULL when absent. */
char *disco_ci_child_text (xmlNode *parent, const char *ns, const char *name);

/* Serialises with an XML declaration, UTF-8. */
char *disco_ci_to_string (xmlDoc *doc);

/* Parses and checks the root (namespace, entity, version).  No network, no
 * entity expansion, no DTD. */
xmlDoc *disco_ci_parse (const char *body, gsize len, GError **error);

guint32 disco_ci_version (xmlDoc *doc);
/* "full", "partial" or "deleted". */
const char *disco_ci_state (xmlDoc *doc);

/* RFC 4575 §4.6: applies @update to *@local (which may be NULL before the
 * first full document).  On REPLACED, *@local is a copy of @update. */
DiscoCiMergeResult disco_ci_merge (xmlDoc **local, xmlDoc *update, GError **error);

G_END_DECLS
