/* conference-info.c: building, parsing and merging conference-info
 * documents (RFC 4575) with libxml2. */
#define G_LOG_DOMAIN "disco-confinfo"

#include "conference-info.h"

#include <libxml/parser.h>
#include <string.h>

G_DEFINE_QUARK (disco - ci - error - quark, disco_ci_error)

static const xmlChar *
X (const char *s)
{
  return (const xmlChar *)s;
}

xmlDoc *
disco_ci_doc_new (const char *entity, const char *state, guint32 version, xmlNode **root_out)
{
  xmlDoc *doc = xmlNewDoc (X ("1.0"));
  xmlNode *root = xmlNewNode (NULL, X ("conference-info"));
  xmlNs *ns = xmlNewNs (root, X (DISCO_CI_NS), NULL);
  char ver[16];

  xmlSetNs (root, ns);
  xmlNewNs (root, X (DISCO_DC_NS), X ("dc"));
  xmlDocSetRootElement (doc, root);
  xmlNewProp (root, X ("entity"), X (entity));
  xmlNewProp (root, X ("state"), X (state));
  g_snprintf (ver, sizeof ver, "%u", version);
  xmlNewProp (root, X ("version"), X (ver));
  if (root_out)
    *root_out = root;
  return doc;
}

static xmlNs *
ns_for (xmlNode *node, const char *href)
{
  return xmlSearchNsByHref (node->doc, node, X (href));
}

static xmlNode *
add_in (xmlNode *parent, const char *href, const char *name, const char *text)
{
  xmlNs *ns = ns_for (parent, href);
  xmlNode *n = xmlNewChild (parent, ns, X (name), NULL);
  if (ns == NULL)
    xmlSetNs (n, xmlNewNs (n, X (href), g_str_equal (href, DISCO_DC_NS) ? X ("dc") : NULL));
  if (text)
    xmlNodeAddContent (n, X (text)); /* escapes &, < */
  return n;
}

xmlNode *
disco_ci_add (xmlNode *parent, const char *name, const char *text)
{
  return add_in (parent, DISCO_CI_NS, name, text);
}

xmlNode *
disco_ci_add_dc (xmlNode *parent, const char *name, const char *text)
{
  return add_in (parent, DISCO_DC_NS, name, text);
}

static gboolean
is (xmlNode *n, const char *href, const char *name)
{
  return n && n->type == XML_ELEMENT_NODE && n->ns && xmlStrEqual (n->ns->href, X (href))
         && xmlStrEqual (n->name, X (name));
}

xmlNode *
disco_ci_find (xmlNode *parent, const char *href, const char *name)
{
  if (parent == NULL)
    return NULL;
  for (xmlNode *c = parent->children; c; c = c->next)
    if (is (c, href, name))
      return c;
  return NULL;
}

char *
disco_ci_child_text (xmlNode *parent, const char *href, const char *name)
{
  xmlNode *n = disco_ci_find (parent, href, name);
  if (n == NULL)
    return NULL;
  xmlChar *t = xmlNodeGetContent (n);
  char *out = g_strstrip (g_strdup ((const char *)t));
  xmlFree (t);
  return out;
}

char *
disco_ci_to_string (xmlDoc *doc)
{
  xmlChar *mem = NULL;
  int len = 0;
  xmlDocDumpMemoryEnc (doc, &mem, &len, "UTF-8");
  char *out = g_strndup ((const char *)mem, len);
  xmlFree (mem);
  return out;
}

static char *
prop (xmlNode *n, const char *name)
{
  xmlChar *v = xmlGetProp (n, X (name));
  char *out = g_strdup ((const char *)v);
  xmlFree (v);
  return out;
}

xmlDoc *
disco_ci_parse (const char *body, gsize len, GError **error)
{
  if (body == NULL || len == 0)
    {
      g_set_error (error, DISCO_CI_ERROR, DISCO_CI_ERROR_PARSE, "empty conference-info body");
      return NULL;
    }
  if (len > DISCO_CI_MAX_BYTES)
    {
      g_set_error (error, DISCO_CI_ERROR, DISCO_CI_ERROR_PARSE,
                   "conference-info body of %" G_GSIZE_FORMAT " bytes exceeds the %d byte limit",
                   len, DISCO_CI_MAX_BYTES);
      return NULL;
    }
  xmlDoc *doc = xmlReadMemory (body, (int)len, "conference-info.xml", NULL,
                               XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOERROR
                                   | XML_PARSE_NOWARNING);
  if (doc == NULL)
    {
      const xmlError *e = xmlGetLastError ();
      g_set_error (error, DISCO_CI_ERROR, DISCO_CI_ERROR_PARSE, "conference-info is not XML: %s",
                   e && e->message ? g_strstrip (e->message) : "parse error");
      return NULL;
    }
  /* A DTD could define entities; conference-info never needs one. */
  if (doc->intSubset || doc->extSubset)
    {
      xmlFreeDoc (doc);
      g_set_error (error, DISCO_CI_ERROR, DISCO_CI_ERROR_INVALID,
                   "conference-info must not carry a DTD");
      return NULL;
    }
  xmlNode *root = xmlDocGetRootElement (doc);
  g_autofree char *entity = root ? prop (root, "entity") : NULL;
  g_autofree char *version = root ? prop (root, "version") : NULL;
  g_autofree char *state = root ? prop (root, "state") : NULL;
  guint64 v;
  const char *why = NULL;
  if (!is (root, DISCO_CI_NS, "conference-info"))
    why = "root is not {" DISCO_CI_NS "}conference-info";
  else if (entity == NULL || *entity == '\0')
    why = "conference-info lacks the entity attribute";
  else if (version == NULL || !g_ascii_string_to_unsigned (version, 10, 0, G_MAXUINT32, &v, NULL))
    why = "conference-info lacks a valid version attribute";
  else if (state && !g_str_equal (state, "full") && !g_str_equal (state, "partial")
           && !g_str_equal (state, "deleted"))
    why = "conference-info state must be full, partial or deleted";
  if (why)
    {
      xmlFreeDoc (doc);
      g_set_error (error, DISCO_CI_ERROR, DISCO_CI_ERROR_INVALID, "%s", why);
      return NULL;
    }
  return doc;
}

guint32
disco_ci_version (xmlDoc *doc)
{
  g_autofree char *v = prop (xmlDocGetRootElement (doc), "version");
  guint64 out = 0;
  if (v)
    g_ascii_string_to_unsigned (v, 10, 0, G_MAXUINT32, &out, NULL);
  return (guint32)out;
}

static const char *
state_of (xmlNode *n, const char *dflt)
{
  xmlChar *s = xmlGetProp (n, X ("state"));
  const char *out = dflt;
  if (s)
    {
      if (xmlStrEqual (s, X ("full")))
        out = "full";
      else if (xmlStrEqual (s, X ("partial")))
        out = "partial";
      else if (xmlStrEqual (s, X ("deleted")))
        out = "deleted";
      xmlFree (s);
    }
  return out;
}

const char *
disco_ci_state (xmlDoc *doc)
{
  return state_of (xmlDocGetRootElement (doc), "full");
}

/* Keyed elements (RFC 4575 §4.4): their key attribute, or NULL. */
static const char *
key_attr (xmlNode *n)
{
  if (is (n, DISCO_CI_NS, "user") || is (n, DISCO_CI_NS, "endpoint"))
    return "entity";
  if (is (n, DISCO_CI_NS, "media"))
    return "id";
  if (n->parent && is (n->parent, DISCO_CI_NS, "sidebars-by-val") && is (n, DISCO_CI_NS, "entry"))
    return "entity";
  return NULL;
}

/* Containers that take part in partial notification but have no key. */
static gboolean
stateful_container (xmlNode *n)
{
  return is (n, DISCO_CI_NS, "users") || is (n, DISCO_CI_NS, "sidebars-by-ref")
         || is (n, DISCO_CI_NS, "sidebars-by-val");
}

static gboolean
same_name (xmlNode *a, xmlNode *b)
{
  const xmlChar *ha = a->ns ? a->ns->href : NULL;
  const xmlChar *hb = b->ns ? b->ns->href : NULL;
  return a->type == XML_ELEMENT_NODE && xmlStrEqual (a->name, b->name) && xmlStrEqual (ha, hb);
}

static xmlNode *
find_match (xmlNode *local_parent, xmlNode *u, const char *key)
{
  g_autofree char *want = key ? prop (u, key) : NULL;
  for (xmlNode *c = local_parent->children; c; c = c->next)
    {
      if (!same_name (c, u))
        continue;
      if (key == NULL)
        return c;
      g_autofree char *have = prop (c, key);
      if (g_strcmp0 (have, want) == 0)
        return c;
    }
  return NULL;
}

static void
replace_or_add (xmlNode *local_parent, xmlNode *existing, xmlNode *u)
{
  xmlNode *copy = xmlDocCopyNode (u, local_parent->doc, 1);
  if (existing)
    {
      xmlReplaceNode (existing, copy);
      xmlFreeNode (existing);
    }
  else
    xmlAddChild (local_parent, copy);
  /* What we hold is complete state again. */
  if (xmlHasProp (copy, X ("state")))
    xmlSetProp (copy, X ("state"), X ("full"));
}

static void merge_children (xmlNode *local, xmlNode *update);

static void
merge_one (xmlNode *local_parent, xmlNode *u)
{
  const char *key = key_attr (u);
  gboolean stateful = key != NULL || stateful_container (u);
  xmlNode *existing = find_match (local_parent, u, key);

  if (!stateful)
    {
      /* Atomic elements replace the local copy as a whole (§4.6). */
      replace_or_add (local_parent, existing, u);
      return;
    }
  /* media has a key but no state: it merges its sub-elements. */
  const char *st = state_of (u, is (u, DISCO_CI_NS, "media") ? "partial" : "full");
  if (g_str_equal (st, "deleted"))
    {
      if (existing)
        {
          xmlUnlinkNode (existing);
          xmlFreeNode (existing);
        }
    }
  else if (g_str_equal (st, "full") || existing == NULL)
    replace_or_add (local_parent, existing, u);
  else
    merge_children (existing, u);
}

static void
merge_children (xmlNode *local, xmlNode *update)
{
  for (xmlNode *u = update->children; u; u = u->next)
    if (u->type == XML_ELEMENT_NODE)
      merge_one (local, u);
}

DiscoCiMergeResult
disco_ci_merge (xmlDoc **local, xmlDoc *update, GError **error)
{
  const char *st = disco_ci_state (update);
  guint32 v = disco_ci_version (update);

  if (*local == NULL)
    {
      if (!g_str_equal (st, "full"))
        return DISCO_CI_MERGE_NEED_REFRESH;
      *local = xmlCopyDoc (update, 1);
      return DISCO_CI_MERGE_REPLACED;
    }
  guint32 have = disco_ci_version (*local);
  if (v <= have)
    return DISCO_CI_MERGE_STALE;

  xmlNode *lroot = xmlDocGetRootElement (*local);
  xmlNode *uroot = xmlDocGetRootElement (update);
  g_autofree char *le = prop (lroot, "entity");
  g_autofree char *ue = prop (uroot, "entity");
  if (g_strcmp0 (le, ue) != 0)
    {
      g_set_error (error, DISCO_CI_ERROR, DISCO_CI_ERROR_INVALID,
                   "document for %s does not belong to %s", ue, le);
      return DISCO_CI_MERGE_STALE;
    }

  if (!g_str_equal (st, "partial"))
    {
      xmlFreeDoc (*local);
      *local = xmlCopyDoc (update, 1);
      xmlSetProp (xmlDocGetRootElement (*local), X ("state"), X ("full"));
      return g_str_equal (st, "deleted") ? DISCO_CI_MERGE_DELETED : DISCO_CI_MERGE_REPLACED;
    }
  if (v != have + 1)
    return DISCO_CI_MERGE_NEED_REFRESH;

  merge_children (lroot, uroot);
  char ver[16];
  g_snprintf (ver, sizeof ver, "%u", v);
  xmlSetProp (lroot, X ("version"), X (ver));
  return DISCO_CI_MERGE_APPLIED;
}
