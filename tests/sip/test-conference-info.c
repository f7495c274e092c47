/* test-conference-info.c: RFC 4575 documents: parsing hostile input, the
 * §4.6 receiver algorithm (versions, full/partial/deleted, keyed merge) and
 * schema validity of built documents (RFC 4575 + DisCo XSD, libxml2). */
#include <libxml/xmlschemas.h>
#include <string.h>

#include "conference-info.h"

#define HEAD                                                                                       \
  "<?xml version=\"1.0\"?>\n<conference-info xmlns=\"urn:ietf:params:xml:ns:conference-info\" "    \
  "xmlns:dc=\"urn:x-disco:params:xml:ns:focus-state\" entity=\"sip:c@h\" "

static xmlDoc *
parse_ok (const char *text)
{
  g_autoptr (GError) error = NULL;
  xmlDoc *doc = disco_ci_parse (text, strlen (text), &error);
  g_assert_no_error (error);
  g_assert_nonnull (doc);
  return doc;
}

static void
parse_bad (const char *text, gsize len, int code)
{
  g_autoptr (GError) error = NULL;
  xmlDoc *doc = disco_ci_parse (text, len, &error);
  g_assert_null (doc);
  g_assert_error (error, DISCO_CI_ERROR, code);
}

static void
test_parse_hostile (void)
{
  parse_bad ("", 0, DISCO_CI_ERROR_PARSE);
  parse_bad ("not xml at all <", 16, DISCO_CI_ERROR_PARSE);
  const char *wrong_ns = "<conference-info entity=\"sip:a@b\" version=\"1\"/>";
  parse_bad (wrong_ns, strlen (wrong_ns), DISCO_CI_ERROR_INVALID);
  const char *no_version = HEAD "state=\"full\"/>";
  parse_bad (no_version, strlen (no_version), DISCO_CI_ERROR_INVALID);
  const char *bad_state = HEAD "state=\"bogus\" version=\"1\"/>";
  parse_bad (bad_state, strlen (bad_state), DISCO_CI_ERROR_INVALID);
  const char *laughs
      = "<?xml version=\"1.0\"?><!DOCTYPE c [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b "
        "\"&a;&a;&a;&a;\">]>"
        "<conference-info xmlns=\"urn:ietf:params:xml:ns:conference-info\" entity=\"sip:a@b\" "
        "version=\"1\"><users><user entity=\"&b;\"/></users></conference-info>";
  parse_bad (laughs, strlen (laughs), DISCO_CI_ERROR_INVALID);
  const char *ext = "<?xml version=\"1.0\"?><!DOCTYPE c SYSTEM \"http://192.0.2.1/x.dtd\">"
                    "<conference-info xmlns=\"urn:ietf:params:xml:ns:conference-info\" "
                    "entity=\"sip:a@b\" version=\"1\"/>";
  parse_bad (ext, strlen (ext), DISCO_CI_ERROR_INVALID);
  g_autofree char *huge = g_strnfill (DISCO_CI_MAX_BYTES + 1, ' ');
  parse_bad (huge, strlen (huge), DISCO_CI_ERROR_PARSE);
  /* Truncated in the middle of a document. */
  const char *cut = HEAD "state=\"full\" version=\"1\"><users><user entity=\"sip:x";
  parse_bad (cut, strlen (cut), DISCO_CI_ERROR_PARSE);
}

static int
count_users (xmlDoc *doc)
{
  xmlNode *users = disco_ci_find (xmlDocGetRootElement (doc), DISCO_CI_NS, "users");
  int n = 0;
  for (xmlNode *u = users ? users->children : NULL; u; u = u->next)
    if (u->type == XML_ELEMENT_NODE)
      n++;
  return n;
}

static xmlNode *
find_user (xmlDoc *doc, const char *entity)
{
  xmlNode *users = disco_ci_find (xmlDocGetRootElement (doc), DISCO_CI_NS, "users");
  for (xmlNode *u = users ? users->children : NULL; u; u = u->next)
    {
      xmlChar *e = xmlGetProp (u, BAD_CAST "entity");
      gboolean same = e && g_str_equal ((char *)e, entity);
      xmlFree (e);
      if (same)
        return u;
    }
  return NULL;
}

static DiscoCiMergeResult
merge (xmlDoc **local, const char *text)
{
  g_autoptr (GError) error = NULL;
  xmlDoc *u = parse_ok (text);
  DiscoCiMergeResult r = disco_ci_merge (local, u, &error);
  xmlFreeDoc (u);
  return r;
}

static void
test_merge (void)
{
  xmlDoc *local = NULL;

  /* A partial before any full: ask for a refresh. */
  g_assert_cmpint (merge (&local, HEAD "state=\"partial\" version=\"3\"/>"), ==,
                   DISCO_CI_MERGE_NEED_REFRESH);
  g_assert_null (local);

  g_assert_cmpint (merge (&local, HEAD
                          "state=\"full\" version=\"5\">"
                          "<conference-state><user-count>2</user-count><active>true</active>"
                          "<locked>false</locked></conference-state><users>"
                          "<user entity=\"sip:a@x\"><display-text>A</display-text>"
                          "<endpoint entity=\"sip:a@1\"><status>connected</status>"
                          "<media id=\"1\"><type>audio</type><status>sendrecv</status></media>"
                          "</endpoint></user>"
                          "<user entity=\"sip:b@x\"><endpoint entity=\"sip:b@1\"><status>connected"
                          "</status></endpoint></user></users></conference-info>"),
                   ==, DISCO_CI_MERGE_REPLACED);
  g_assert_cmpuint (disco_ci_version (local), ==, 5);
  g_assert_cmpint (count_users (local), ==, 2);

  /* Old and equal versions are discarded whatever their content. */
  g_assert_cmpint (merge (&local, HEAD "state=\"full\" version=\"5\"/>"), ==, DISCO_CI_MERGE_STALE);
  g_assert_cmpint (merge (&local, HEAD "state=\"partial\" version=\"4\"><users state=\"partial\">"
                                       "<user entity=\"sip:a@x\" state=\"deleted\"/></users>"
                                       "</conference-info>"),
                   ==, DISCO_CI_MERGE_STALE);
  g_assert_cmpint (count_users (local), ==, 2);

  /* version+1 partial: B leaves, C joins, A's endpoint goes on hold with a
   * media update; conference-state replaced atomically. */
  g_assert_cmpint (merge (&local, HEAD
                          "state=\"partial\" version=\"6\"><conference-state><user-count>2"
                          "</user-count><active>true</active><locked>true</locked>"
                          "</conference-state><users state=\"partial\">"
                          "<user entity=\"sip:b@x\" state=\"deleted\"/>"
                          "<user entity=\"sip:c@x\" state=\"full\"><endpoint entity=\"sip:c@1\">"
                          "<status>connected</status></endpoint></user>"
                          "<user entity=\"sip:a@x\" state=\"partial\"><endpoint entity=\"sip:a@1\" "
                          "state=\"partial\"><status>on-hold</status><media id=\"1\"><status>"
                          "recvonly</status></media></endpoint></user></users></conference-info>"),
                   ==, DISCO_CI_MERGE_APPLIED);
  g_assert_cmpuint (disco_ci_version (local), ==, 6);
  g_assert_cmpint (count_users (local), ==, 2);
  g_assert_null (find_user (local, "sip:b@x"));
  g_assert_nonnull (find_user (local, "sip:c@x"));
  xmlNode *a = find_user (local, "sip:a@x");
  g_autofree char *display = disco_ci_child_text (a, DISCO_CI_NS, "display-text");
  g_assert_cmpstr (display, ==, "A"); /* untouched by the partial user */
  xmlNode *ep = disco_ci_find (a, DISCO_CI_NS, "endpoint");
  g_autofree char *status = disco_ci_child_text (ep, DISCO_CI_NS, "status");
  g_assert_cmpstr (status, ==, "on-hold");
  xmlNode *media = disco_ci_find (ep, DISCO_CI_NS, "media");
  g_autofree char *mtype = disco_ci_child_text (media, DISCO_CI_NS, "type");
  g_autofree char *mstatus = disco_ci_child_text (media, DISCO_CI_NS, "status");
  g_assert_cmpstr (mtype, ==, "audio"); /* media merges its sub-elements */
  g_assert_cmpstr (mstatus, ==, "recvonly");
  xmlNode *cs = disco_ci_find (xmlDocGetRootElement (local), DISCO_CI_NS, "conference-state");
  g_autofree char *locked = disco_ci_child_text (cs, DISCO_CI_NS, "locked");
  g_assert_cmpstr (locked, ==, "true");

  /* A gap (8 after 6) means a lost NOTIFY: refresh, state unchanged. */
  g_assert_cmpint (merge (&local, HEAD "state=\"partial\" version=\"8\"><users state=\"partial\">"
                                       "<user entity=\"sip:c@x\" state=\"deleted\"/></users>"
                                       "</conference-info>"),
                   ==, DISCO_CI_MERGE_NEED_REFRESH);
  g_assert_nonnull (find_user (local, "sip:c@x"));

  /* Another conference's document never merges. */
  g_autoptr (GError) error = NULL;
  const char *other = "<conference-info xmlns=\"urn:ietf:params:xml:ns:conference-info\" "
                      "entity=\"sip:other@h\" state=\"partial\" version=\"7\"/>";
  xmlDoc *o = parse_ok (other);
  g_assert_cmpint (disco_ci_merge (&local, o, &error), ==, DISCO_CI_MERGE_STALE);
  g_assert_error (error, DISCO_CI_ERROR, DISCO_CI_ERROR_INVALID);
  xmlFreeDoc (o);

  /* A later full replaces everything; deleted ends the conference. */
  g_assert_cmpint (merge (&local, HEAD "state=\"full\" version=\"9\"><users/></conference-info>"),
                   ==, DISCO_CI_MERGE_REPLACED);
  g_assert_cmpint (count_users (local), ==, 0);
  g_assert_cmpint (merge (&local, HEAD "state=\"deleted\" version=\"10\"/>"), ==,
                   DISCO_CI_MERGE_DELETED);
  xmlFreeDoc (local);
}

static xmlSchemaPtr
load_schema (void)
{
  g_autofree char *path = g_build_filename (g_getenv ("DISCO_SOURCE_DIR"), "tests", "sip",
                                            "conference-info-disco.xsd", NULL);
  xmlSchemaParserCtxtPtr pc = xmlSchemaNewParserCtxt (path);
  xmlSchemaPtr schema = xmlSchemaParse (pc);
  xmlSchemaFreeParserCtxt (pc);
  g_assert_nonnull (schema);
  return schema;
}

static int
validate (xmlSchemaPtr schema, xmlDoc *doc)
{
  xmlSchemaValidCtxtPtr vc = xmlSchemaNewValidCtxt (schema);
  int rc = xmlSchemaValidateDoc (vc, doc);
  xmlSchemaFreeValidCtxt (vc);
  return rc;
}

static void
test_schema (void)
{
  xmlSchemaPtr schema = load_schema ();
  xmlNode *root;
  xmlDoc *doc = disco_ci_doc_new ("sip:conf@127.0.0.1", "full", 1, &root);
  xmlNode *cs = disco_ci_add (root, "conference-state", NULL);
  disco_ci_add (cs, "user-count", "1");
  disco_ci_add (cs, "active", "true");
  disco_ci_add (cs, "locked", "false");
  xmlNode *users = disco_ci_add (root, "users", NULL);
  xmlNode *u = disco_ci_add (users, "user", NULL);
  xmlNewProp (u, BAD_CAST "entity", BAD_CAST "sip:alice@127.0.0.1");
  xmlNode *e = disco_ci_add (u, "endpoint", NULL);
  xmlNewProp (e, BAD_CAST "entity", BAD_CAST "sip:alice@127.0.0.1:5062");
  disco_ci_add (e, "status", "connected");
  xmlNode *sip = disco_ci_add (disco_ci_add (e, "call-info", NULL), "sip", NULL);
  disco_ci_add (sip, "call-id", "abc");
  disco_ci_add (sip, "from-tag", "1");
  disco_ci_add (sip, "to-tag", "2 & <3>");
  disco_ci_add_dc (e, "served-by", "sip:127.0.0.1:5060");
  disco_ci_add_dc (e, "session-id", "0123456789abcdef0123456789abcdef");
  disco_ci_add_dc (e, "codec", "PCMU");
  xmlNode *foci = disco_ci_add_dc (root, "foci", NULL);
  xmlNode *f = disco_ci_add_dc (foci, "focus", NULL);
  xmlNewProp (f, BAD_CAST "uri", BAD_CAST "sip:127.0.0.1:5060");
  xmlNewProp (f, BAD_CAST "state", BAD_CAST "active");
  disco_ci_add_dc (f, "capacity", "10");
  disco_ci_add_dc (f, "load", "1");
  g_assert_cmpint (validate (schema, doc), ==, 0);

  /* Round trip through text keeps it valid and escaped. */
  g_autofree char *text = disco_ci_to_string (doc);
  g_assert_nonnull (strstr (text, "2 &amp; &lt;3&gt;"));
  xmlDoc *back = parse_ok (text);
  g_assert_cmpint (validate (schema, back), ==, 0);
  xmlFreeDoc (back);

  /* The schema does catch mistakes in our namespace and in RFC 4575 order. */
  disco_ci_add_dc (e, "codec", "speex");
  g_assert_cmpint (validate (schema, doc), !=, 0);
  xmlFreeDoc (doc);

  doc = disco_ci_doc_new ("sip:conf@127.0.0.1", "full", 1, &root);
  disco_ci_add (root, "users", NULL);
  disco_ci_add (root, "conference-state", NULL); /* after users: out of order */
  g_assert_cmpint (validate (schema, doc), !=, 0);
  xmlFreeDoc (doc);
  xmlSchemaFree (schema);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/sip/conference-info/parse-hostile", test_parse_hostile);
  g_test_add_func ("/sip/conference-info/merge", test_merge);
  g_test_add_func ("/sip/conference-info/schema", test_schema);
  return g_test_run ();
}
