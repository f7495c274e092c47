/* Storage semantics (RFC 6940 §7) for each data model, with real
 * signatures and the non-ShaRe access policies. */
#include "storage-test-util.h"

static DiscoReloadIdentity *alice, *bob;

static const char test_xml[]
    = "<overlay xmlns=\"urn:ietf:params:xml:ns:p2p:config-base\">\n"
      "<configuration instance-name=\"" OVERLAY "\" sequence=\"3\">\n"
      "<self-signed-permitted digest=\"sha256\">true</self-signed-permitted>\n"
      "<required-kinds>\n"
      "<kind-block><kind name=\"SIP-REGISTRATION\"><max-count>4</max-count><max-size>512</max-size>"
      "</kind></kind-block>\n"
      "<kind-block><kind "
      "name=\"CERTIFICATE_BY_NODE\"><max-count>4</max-count><max-size>4096</max-size>"
      "</kind></kind-block>\n"
      "<kind-block><kind "
      "name=\"CERTIFICATE_BY_USER\"><max-count>4</max-count><max-size>4096</max-size>"
      "</kind></kind-block>\n"
      "<kind-block><kind id=\"4026531841\"><data-model>SINGLE</data-model>"
      "<access-control>USER-MATCH</access-control><max-count>1</max-count><max-size>64</max-size>"
      "</kind></kind-block>\n"
      "<kind-block><kind id=\"4026531842\"><data-model>ARRAY</data-model>"
      "<access-control>USER-MATCH</access-control><max-count>3</max-count><max-size>64</max-size>"
      "</kind></kind-block>\n"
      "<kind-block><kind id=\"4026531843\"><data-model>SINGLE</data-model>"
      "<access-control>NODE-MULTIPLE</access-control><max-node-multiple>5</max-node-multiple>"
      "<max-count>1</max-count><max-size>64</max-size></kind></kind-block>\n"
      "</required-kinds>\n"
      "</configuration></overlay>\n";

static void
setup (Fixture *f, gconstpointer data)
{
  DiscoReloadIdentity *ids[] = { alice, bob };

  fixture_init (f, test_xml, ids, G_N_ELEMENTS (ids));
}

static GBytes *
text (const char *s)
{
  return g_bytes_new (s, strlen (s));
}

static void
test_single (Fixture *f, gconstpointer data)
{
  DiscoReloadResourceId rid;
  g_autoptr (GBytes) v1 = text ("one");
  g_autoptr (GBytes) v2 = text ("two");
  g_autoptr (GBytes) big = g_bytes_new_take (g_malloc0 (65), 65);
  g_autoptr (GPtrArray) got = NULL;
  guint64 gen = 0;
  DiscoReloadStoredData *sd;

  rid_of ("alice@example.org", &rid);
  g_assert_cmpuint (store_one (f, &rid, KIND_SINGLE, 0,
                               make_value (f, alice, &rid, KIND_SINGLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v1, 60),
                               &gen),
                    ==, 0);
  g_assert_cmpuint (gen, ==, 1);
  got = fetch_kind (f, &rid, KIND_SINGLE, DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, NULL, &gen,
                    NULL);
  g_assert_cmpuint (got->len, ==, 1);
  g_assert_cmpuint (gen, ==, 1);
  sd = g_ptr_array_index (got, 0);
  g_assert_true (sd->value.exists);
  g_assert_true (g_bytes_equal (sd->value.value, v1));
  g_clear_pointer (&got, g_ptr_array_unref);

  /* Cache validation: same generation -> no values. */
  got = fetch_kind (f, &rid, KIND_SINGLE, DISCO_RELOAD_DATA_MODEL_SINGLE, 1, NULL, NULL, NULL,
                    NULL);
  g_assert_cmpuint (got->len, ==, 0);
  g_clear_pointer (&got, g_ptr_array_unref);

  /* A stale generation fails and reports the current counter. */
  f->now_ms += 1000;
  gen = 0;
  g_assert_cmpuint (store_one (f, &rid, KIND_SINGLE, 7,
                               make_value (f, alice, &rid, KIND_SINGLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v2, 60),
                               &gen),
                    ==, DISCO_RELOAD_ERROR_GENERATION_COUNTER_TOO_LOW);
  g_assert_cmpuint (gen, ==, 1);
  g_assert_cmpuint (store_one (f, &rid, KIND_SINGLE, 1,
                               make_value (f, alice, &rid, KIND_SINGLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v2, 60),
                               &gen),
                    ==, 0);
  g_assert_cmpuint (gen, ==, 2);

  /* Older storage_time than the stored value. */
  f->now_ms -= 5000;
  g_assert_cmpuint (store_one (f, &rid, KIND_SINGLE, 0,
                               make_value (f, alice, &rid, KIND_SINGLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v1, 60),
                               NULL),
                    ==, DISCO_RELOAD_ERROR_DATA_TOO_OLD);
  f->now_ms += 10000;

  /* Too large. */
  g_assert_cmpuint (store_one (f, &rid, KIND_SINGLE, 0,
                               make_value (f, alice, &rid, KIND_SINGLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, big, 60),
                               NULL),
                    ==, DISCO_RELOAD_ERROR_DATA_TOO_LARGE);

  /* USER-MATCH: bob cannot write at H(alice). */
  g_assert_cmpuint (store_one (f, &rid, KIND_SINGLE, 0,
                               make_value (f, bob, &rid, KIND_SINGLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v1, 60),
                               NULL),
                    ==, DISCO_RELOAD_ERROR_FORBIDDEN);

  /* Nothing of the refused stores leaked in. */
  got = fetch_kind (f, &rid, KIND_SINGLE, DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, NULL, &gen,
                    NULL);
  g_assert_cmpuint (gen, ==, 2);
  g_assert_true (g_bytes_equal (((DiscoReloadStoredData *)got->pdata[0])->value.value, v2));
}

static void
test_signature_required (Fixture *f, gconstpointer data)
{
  DiscoReloadResourceId rid;
  g_autoptr (GBytes) v = text ("value");
  DiscoReloadStoredData *sd;

  rid_of ("alice@example.org", &rid);
  /* Forged: alice's signature, value changed afterwards. */
  sd = make_value (f, alice, &rid, KIND_SINGLE, DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v, 60);
  g_bytes_unref (sd->value.value);
  sd->value.value = text ("evil!");
  g_assert_cmpuint (store_one (f, &rid, KIND_SINGLE, 0, sd, NULL), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);

  /* Bob signs but claims to be alice: signature does not verify with alice's key. */
  sd = make_value (f, bob, &rid, KIND_SINGLE, DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v, 60);
  disco_reload_signer_identity_clear (&sd->signature.identity);
  g_assert_true (
      disco_reload_identity_signer_identity (alice, NULL, &sd->signature.identity, NULL));
  g_assert_cmpuint (store_one (f, &rid, KIND_SINGLE, 0, sd, NULL), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);

  /* Unsigned. */
  sd = make_value (f, alice, &rid, KIND_SINGLE, DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v, 60);
  disco_reload_signature_set_none (&sd->signature);
  g_assert_cmpuint (store_one (f, &rid, KIND_SINGLE, 0, sd, NULL), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);

  /* Unknown kind. */
  sd = make_value (f, alice, &rid, 0xF0000999u, DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v, 60);
  g_assert_cmpuint (store_one (f, &rid, 0xF0000999u, 0, sd, NULL), ==,
                    DISCO_RELOAD_ERROR_UNKNOWN_KIND);

  /* Wrong data model for the kind. */
  sd = make_value (f, alice, &rid, KIND_SINGLE, DISCO_RELOAD_DATA_MODEL_ARRAY, 0, NULL, v, 60);
  g_assert_cmpuint (store_one (f, &rid, KIND_SINGLE, 0, sd, NULL), ==,
                    DISCO_RELOAD_ERROR_INVALID_MESSAGE);
  g_assert_cmpuint (disco_reload_storage_count (f->storage), ==, 0);
}

static void
test_request_signer (Fixture *f, gconstpointer data)
{
  DiscoReloadResourceId rid;
  g_autoptr (GBytes) v = text ("value");
  g_autoptr (GPtrArray) vals
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_stored_data_unref);
  DiscoReloadSigner bob_signer
      = { disco_reload_cert_ref (bob->cert), *disco_reload_identity_get_node_id (bob) };
  DiscoReloadSigner alice_signer
      = { disco_reload_cert_ref (alice->cert), *disco_reload_identity_get_node_id (alice) };

  rid_of ("alice@example.org", &rid);
  g_ptr_array_add (vals, make_value (f, alice, &rid, KIND_SINGLE, DISCO_RELOAD_DATA_MODEL_SINGLE, 0,
                                     NULL, v, 60));
  /* Original store relayed in a message signed by bob: refused. */
  g_assert_cmpuint (store_values (f, &rid, KIND_SINGLE, 0, 0, vals, &bob_signer, NULL, NULL), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);
  /* As a replica (the replica checks are the topology's), it is accepted with
   * the sender's generation; generation 0 is invalid for replicas. */
  g_assert_cmpuint (store_values (f, &rid, KIND_SINGLE, 0, 1, vals, &bob_signer, NULL, NULL), ==,
                    DISCO_RELOAD_ERROR_INVALID_MESSAGE);
  {
    guint64 gen = 0;
    g_assert_cmpuint (store_values (f, &rid, KIND_SINGLE, 42, 1, vals, &bob_signer, &gen, NULL), ==,
                      0);
    g_assert_cmpuint (gen, ==, 42);
  }
  f->now_ms += 1;
  g_ptr_array_set_size (vals, 0);
  g_ptr_array_add (vals, make_value (f, alice, &rid, KIND_SINGLE, DISCO_RELOAD_DATA_MODEL_SINGLE, 0,
                                     NULL, v, 60));
  {
    guint64 gen = 0;
    g_assert_cmpuint (store_values (f, &rid, KIND_SINGLE, 42, 0, vals, &alice_signer, &gen, NULL),
                      ==, 0);
    g_assert_cmpuint (gen, ==, 43);
  }
  disco_reload_signer_clear (&bob_signer);
  disco_reload_signer_clear (&alice_signer);
}

static void
test_expiry (Fixture *f, gconstpointer data)
{
  DiscoReloadResourceId rid;
  g_autoptr (GBytes) v = text ("short-lived");
  g_autoptr (GPtrArray) got = NULL;
  DiscoReloadStoredData *sd;

  rid_of ("alice@example.org", &rid);
  g_assert_cmpuint (store_one (f, &rid, KIND_SINGLE, 0,
                               make_value (f, alice, &rid, KIND_SINGLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v, 10),
                               NULL),
                    ==, 0);
  f->now_ms += 9000;
  g_assert_cmpuint (disco_reload_storage_count (f->storage), ==, 1);
  got = fetch_kind (f, &rid, KIND_SINGLE, DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, NULL, NULL,
                    NULL);
  g_assert_true (((DiscoReloadStoredData *)got->pdata[0])->value.exists);
  g_clear_pointer (&got, g_ptr_array_unref);

  f->now_ms += 2000;
  g_assert_cmpuint (disco_reload_storage_count (f->storage), ==, 0);
  got = fetch_kind (f, &rid, KIND_SINGLE, DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, NULL, NULL,
                    NULL);
  sd = g_ptr_array_index (got, 0);
  /* Synthesised "does not exist": identity none, algorithm {0,0}, no signature. */
  g_assert_false (sd->value.exists);
  g_assert_cmpint (sd->signature.identity.type, ==, DISCO_RELOAD_SIGNER_IDENTITY_NONE);
  g_assert_cmpuint (sd->signature.hash_alg, ==, 0);
  g_assert_cmpuint (sd->signature.sig_alg, ==, 0);
  g_assert_cmpuint (disco_reload_storage_expire (f->storage), ==, 1);
  g_assert_cmpuint (disco_reload_storage_expire (f->storage), ==, 0);

  /* An expired value no longer blocks an older storage_time either. */
  f->now_ms -= 5000;
  g_assert_cmpuint (store_one (f, &rid, KIND_SINGLE, 0,
                               make_value (f, alice, &rid, KIND_SINGLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v, 10),
                               NULL),
                    ==, 0);
}

static void
test_array (Fixture *f, gconstpointer data)
{
  DiscoReloadResourceId rid;
  g_autoptr (GBytes) a = text ("a");
  g_autoptr (GBytes) b = text ("b");
  g_autoptr (GBytes) c = text ("c");
  g_autoptr (GBytes) d = text ("d");
  g_autoptr (GPtrArray) got = NULL;
  g_autoptr (GArray) ranges = g_array_new (FALSE, FALSE, sizeof (DiscoReloadArrayRange));
  guint64 gen = 0;
  GBytes *vals[] = { a, b, c };

  rid_of ("alice@example.org", &rid);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (
        store_one (f, &rid, KIND_ARRAY, 0,
                   make_value (f, alice, &rid, KIND_ARRAY, DISCO_RELOAD_DATA_MODEL_ARRAY,
                               DISCO_RELOAD_ARRAY_APPEND, NULL, vals[i], 60),
                   &gen),
        ==, 0);
  g_assert_cmpuint (gen, ==, 3);

  /* max-count 3 */
  g_assert_cmpuint (
      store_one (f, &rid, KIND_ARRAY, 0,
                 make_value (f, alice, &rid, KIND_ARRAY, DISCO_RELOAD_DATA_MODEL_ARRAY,
                             DISCO_RELOAD_ARRAY_APPEND, NULL, d, 60),
                 NULL),
      ==, DISCO_RELOAD_ERROR_DATA_TOO_LARGE);

  /* Appends went to 0, 1, 2 and Fetch reports those indices; signatures still verify. */
  got = fetch_kind (f, &rid, KIND_ARRAY, DISCO_RELOAD_DATA_MODEL_ARRAY, 0, NULL, NULL, NULL, NULL);
  g_assert_cmpuint (got->len, ==, 3);
  for (guint i = 0; i < 3; i++)
    {
      DiscoReloadStoredData *sd = g_ptr_array_index (got, i);
      g_assert_cmpuint (sd->value.index, ==, i);
      g_assert_true (g_bytes_equal (sd->value.value, vals[i]));
      g_assert_true (
          disco_reload_verify_stored_data (f->trust, f->certs, &rid, KIND_ARRAY, sd, NULL, NULL));
    }
  g_clear_pointer (&got, g_ptr_array_unref);

  /* Ranges: [1,1] and [2, last]. */
  g_array_append_vals (ranges, &(DiscoReloadArrayRange){ 1, 1 }, 1);
  got = fetch_kind (f, &rid, KIND_ARRAY, DISCO_RELOAD_DATA_MODEL_ARRAY, 0, ranges, NULL, NULL,
                    NULL);
  g_assert_cmpuint (got->len, ==, 1);
  g_assert_true (g_bytes_equal (((DiscoReloadStoredData *)got->pdata[0])->value.value, b));
  g_clear_pointer (&got, g_ptr_array_unref);
  g_array_index (ranges, DiscoReloadArrayRange, 0)
      = (DiscoReloadArrayRange){ 2, DISCO_RELOAD_ARRAY_LAST };
  got = fetch_kind (f, &rid, KIND_ARRAY, DISCO_RELOAD_DATA_MODEL_ARRAY, 0, ranges, NULL, NULL,
                    NULL);
  g_assert_cmpuint (got->len, ==, 1);
  g_assert_true (g_bytes_equal (((DiscoReloadStoredData *)got->pdata[0])->value.value, c));
  g_clear_pointer (&got, g_ptr_array_unref);

  /* Delete index 1 (exists = false): frees a slot under max-count. */
  f->now_ms += 1;
  g_assert_cmpuint (store_one (f, &rid, KIND_ARRAY, 0,
                               make_value (f, alice, &rid, KIND_ARRAY,
                                           DISCO_RELOAD_DATA_MODEL_ARRAY, 1, NULL, NULL, 60),
                               NULL),
                    ==, 0);
  g_assert_cmpuint (store_one (f, &rid, KIND_ARRAY, 0,
                               make_value (f, alice, &rid, KIND_ARRAY,
                                           DISCO_RELOAD_DATA_MODEL_ARRAY, 7, NULL, d, 60),
                               &gen),
                    ==, 0);
  g_assert_cmpuint (gen, ==, 5);
  got = fetch_kind (f, &rid, KIND_ARRAY, DISCO_RELOAD_DATA_MODEL_ARRAY, 0, NULL, NULL, NULL, NULL);
  g_assert_cmpuint (got->len, ==, 4);
  /* The deletion marker keeps its real signature while unexpired. */
  g_assert_false (((DiscoReloadStoredData *)got->pdata[1])->value.exists);
  g_assert_cmpint (((DiscoReloadStoredData *)got->pdata[1])->signature.identity.type, ==,
                   DISCO_RELOAD_SIGNER_IDENTITY_CERT_HASH);
  g_assert_cmpuint (((DiscoReloadStoredData *)got->pdata[3])->value.index, ==, 7);
}

static void
test_bad_ranges (Fixture *f, gconstpointer data)
{
  DiscoReloadResourceId rid;
  DiscoReloadFetchReq req = { 0 };
  DiscoReloadStoredDataSpecifier *spec
      = disco_reload_stored_data_specifier_new (KIND_ARRAY, DISCO_RELOAD_DATA_MODEL_ARRAY);
  DiscoReloadFetchAns ans;
  DiscoReloadErrorResponse err = { 0 };

  rid_of ("alice@example.org", &rid);
  g_array_append_vals (spec->indices, &(DiscoReloadArrayRange){ 5, 2 }, 1);
  req.resource = rid;
  req.specifiers
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_stored_data_specifier_free);
  g_ptr_array_add (req.specifiers, spec);
  ans.kind_responses
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_fetch_kind_response_free);
  g_assert_false (disco_reload_storage_fetch (f->storage, &req, &ans, NULL, &err));
  g_assert_cmpuint (err.error_code, ==, DISCO_RELOAD_ERROR_INVALID_MESSAGE);
  g_clear_pointer (&err.error_info, g_bytes_unref);

  /* Unknown kind in a Fetch. */
  spec->kind = 0xF0000777u;
  g_array_set_size (spec->indices, 0);
  g_assert_false (disco_reload_storage_fetch (f->storage, &req, &ans, NULL, &err));
  g_assert_cmpuint (err.error_code, ==, DISCO_RELOAD_ERROR_UNKNOWN_KIND);
  g_assert_cmpuint (err.unknown_kinds->len, ==, 1);
  g_clear_pointer (&err.error_info, g_bytes_unref);
  g_clear_pointer (&err.unknown_kinds, g_array_unref);
  g_ptr_array_unref (ans.kind_responses);
  g_ptr_array_unref (req.specifiers);
}

static GBytes *
sip_value (const DiscoReloadIdentity *id)
{
  DiscoReloadSipRegistration reg
      = { DISCO_RELOAD_SIP_REGISTRATION_ROUTE, NULL, g_strdup ("(sip.schemes=SIP)"),
          g_array_new (FALSE, TRUE, sizeof (DiscoReloadDestination)) };
  DiscoReloadDestination dst;
  GBytes *b;

  disco_reload_destination_set_node (&dst, disco_reload_identity_get_node_id (id));
  g_array_append_val (reg.destinations, dst);
  b = disco_reload_sip_registration_encode (&reg, NULL);
  disco_reload_sip_registration_clear (&reg);
  return b;
}

static void
test_dictionary_sip (Fixture *f, gconstpointer data)
{
  DiscoReloadResourceId rid;
  g_autoptr (GBytes) akey = node_key (alice);
  g_autoptr (GBytes) bkey = node_key (bob);
  g_autoptr (GBytes) aval = sip_value (alice);
  g_autoptr (GBytes) junk = text ("not a SipRegistration");
  g_autoptr (GPtrArray) got = NULL;
  g_autoptr (GPtrArray) keys = g_ptr_array_new ();
  g_autoptr (GPtrArray) certs
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_generic_certificate_free);
  guint64 gen;

  rid_of ("alice@example.org", &rid);
  /* USER-NODE-MATCH: user hashes to the Resource-ID, key = signer's Node-ID. */
  g_assert_cmpuint (store_one (f, &rid, DISCO_RELOAD_KIND_SIP_REGISTRATION, 0,
                               make_value (f, alice, &rid, DISCO_RELOAD_KIND_SIP_REGISTRATION,
                                           DISCO_RELOAD_DATA_MODEL_DICTIONARY, 0, akey, aval, 3600),
                               &gen),
                    ==, 0);
  g_assert_cmpuint (store_one (f, &rid, DISCO_RELOAD_KIND_SIP_REGISTRATION, 0,
                               make_value (f, alice, &rid, DISCO_RELOAD_KIND_SIP_REGISTRATION,
                                           DISCO_RELOAD_DATA_MODEL_DICTIONARY, 0, bkey, aval, 3600),
                               NULL),
                    ==, DISCO_RELOAD_ERROR_FORBIDDEN);
  g_assert_cmpuint (store_one (f, &rid, DISCO_RELOAD_KIND_SIP_REGISTRATION, 0,
                               make_value (f, bob, &rid, DISCO_RELOAD_KIND_SIP_REGISTRATION,
                                           DISCO_RELOAD_DATA_MODEL_DICTIONARY, 0, bkey, aval, 3600),
                               NULL),
                    ==, DISCO_RELOAD_ERROR_FORBIDDEN);
  /* RFC 7904 storing-peer check: the value must be a SipRegistration. */
  g_assert_cmpuint (store_one (f, &rid, DISCO_RELOAD_KIND_SIP_REGISTRATION, 0,
                               make_value (f, alice, &rid, DISCO_RELOAD_KIND_SIP_REGISTRATION,
                                           DISCO_RELOAD_DATA_MODEL_DICTIONARY, 0, akey, junk, 3600),
                               NULL),
                    ==, DISCO_RELOAD_ERROR_FORBIDDEN);

  /* Wildcard fetch returns the entry and its signer's certificate. */
  got = fetch_kind (f, &rid, DISCO_RELOAD_KIND_SIP_REGISTRATION, DISCO_RELOAD_DATA_MODEL_DICTIONARY,
                    0, NULL, NULL, &gen, certs);
  g_assert_cmpuint (got->len, ==, 1);
  g_assert_cmpuint (gen, ==, 1);
  g_assert_cmpuint (certs->len, ==, 1);
  g_assert_true (g_bytes_equal (((DiscoReloadGenericCertificate *)certs->pdata[0])->certificate,
                                alice->cert->der));
  g_clear_pointer (&got, g_ptr_array_unref);

  /* Specific keys: a missing one is synthesised as exists = false. */
  g_ptr_array_add (keys, akey);
  g_ptr_array_add (keys, bkey);
  got = fetch_kind (f, &rid, DISCO_RELOAD_KIND_SIP_REGISTRATION, DISCO_RELOAD_DATA_MODEL_DICTIONARY,
                    0, NULL, keys, NULL, NULL);
  g_assert_cmpuint (got->len, ==, 2);
  g_assert_true (((DiscoReloadStoredData *)got->pdata[0])->value.exists);
  g_assert_false (((DiscoReloadStoredData *)got->pdata[1])->value.exists);
  g_assert_true (g_bytes_equal (((DiscoReloadStoredData *)got->pdata[1])->value.key, bkey));
}

static void
test_domain_restriction (Fixture *f, gconstpointer data)
{
  static const char xml[]
      = "<overlay xmlns=\"urn:ietf:params:xml:ns:p2p:config-base\" "
        "xmlns:sip=\"urn:ietf:params:xml:ns:p2p:config-base:sip\">"
        "<configuration instance-name=\"" OVERLAY "\">"
        "<self-signed-permitted digest=\"sha256\">true</self-signed-permitted><required-kinds>"
        "<kind-block><kind "
        "name=\"SIP-REGISTRATION\"><max-count>4</max-count><max-size>512</max-size>"
        "<sip:domain-restriction enable=\"true\"><sip:pattern>.*\\.example\\.net</sip:pattern>"
        "</sip:domain-restriction></kind></kind-block></required-kinds></configuration></overlay>";
  Fixture g;
  DiscoReloadIdentity *ids[] = { alice };
  DiscoReloadResourceId rid;
  g_autoptr (GBytes) akey = node_key (alice);
  g_autoptr (GBytes) aval = sip_value (alice);

  fixture_init (&g, xml, ids, 1);
  rid_of ("alice@example.org", &rid);
  /* example.org is not admitted by the pattern. */
  g_assert_cmpuint (store_one (&g, &rid, DISCO_RELOAD_KIND_SIP_REGISTRATION, 0,
                               make_value (&g, alice, &rid, DISCO_RELOAD_KIND_SIP_REGISTRATION,
                                           DISCO_RELOAD_DATA_MODEL_DICTIONARY, 0, akey, aval, 3600),
                               NULL),
                    ==, DISCO_RELOAD_ERROR_FORBIDDEN);
  fixture_clear (&g);
}

static void
test_certificates (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  DiscoReloadResourceId by_node, by_user;
  g_autoptr (GPtrArray) got = NULL;
  g_autoptr (DiscoReloadCertPool) pool = disco_reload_cert_pool_new ();
  DiscoReloadFetchAns ans;
  DiscoReloadStoredData *sd;

  disco_reload_certificate_resource_by_node (disco_reload_identity_get_node_id (alice), &by_node);
  disco_reload_certificate_resource_by_user ("alice@example.org", &by_user);

  /* NODE-MATCH at H(Node-ID) and USER-MATCH at H(user name). */
  sd = disco_reload_certificate_value_new (alice, DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE, &by_node,
                                           f->now_ms, 3600, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (store_one (f, &by_node, DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE, 0, sd, NULL), ==,
                    0);
  sd = disco_reload_certificate_value_new (alice, DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, &by_user,
                                           f->now_ms, 3600, &error);
  g_assert_cmpuint (store_one (f, &by_user, DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, 0, sd, NULL), ==,
                    0);
  /* ... not crosswise, and not by someone else. */
  sd = disco_reload_certificate_value_new (alice, DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE, &by_user,
                                           f->now_ms, 3600, &error);
  g_assert_cmpuint (store_one (f, &by_user, DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE, 0, sd, NULL), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);
  sd = disco_reload_certificate_value_new (bob, DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE, &by_node,
                                           f->now_ms, 3600, &error);
  g_assert_cmpuint (store_one (f, &by_node, DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE, 0, sd, NULL), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);

  /* A certificate fetched from the overlay verifies alice's signatures. */
  got = fetch_kind (f, &by_node, DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE,
                    DISCO_RELOAD_DATA_MODEL_ARRAY, 0, NULL, NULL, NULL, NULL);
  ans.kind_responses
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_fetch_kind_response_free);
  {
    DiscoReloadFetchKindResponse *kr
        = disco_reload_fetch_kind_response_new (DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE, 1);
    g_ptr_array_extend (kr->values, got, (GCopyFunc)disco_reload_stored_data_ref, NULL);
    g_ptr_array_add (ans.kind_responses, kr);
  }
  g_assert_cmpuint (disco_reload_cert_pool_add_fetch_ans (pool, &ans), ==, 1);
  g_assert_true (disco_reload_verify_stored_data (f->trust, pool, &by_node,
                                                  DISCO_RELOAD_KIND_CERTIFICATE_BY_NODE,
                                                  got->pdata[0], NULL, &error));
  g_assert_no_error (error);
  g_ptr_array_unref (ans.kind_responses);
}

/* RFC 6940 §8: a signer's certificate may come from the certificate-store
 * kinds instead of the message.  alice's second certificate is stored as a
 * CERTIFICATE_BY_USER value (signed with her first one); values it signs
 * then verify with an empty message bucket, until the value expires. */
static void
test_certificate_store (Fixture *f, gconstpointer data)
{
  g_autoptr (GError) error = NULL;
  g_autoptr (DiscoReloadIdentity) alice2 = disco_reload_identity_new_self_signed (
      "alice@example.org", OVERLAY, DISCO_RELOAD_DIGEST_SHA256, 1, 0, 0, &error);
  g_assert_no_error (error);
  g_autoptr (DiscoReloadIdentity) alice3 = disco_reload_identity_new_self_signed (
      "alice@example.org", OVERLAY, DISCO_RELOAD_DIGEST_SHA256, 1, 0, 0, &error);
  g_assert_no_error (error);
  g_autoptr (GBytes) v = text ("hi");
  DiscoReloadResourceId rid;
  DiscoReloadCertPool *full = f->certs;

  rid_of ("alice@example.org", &rid);
  g_assert_cmpuint (store_one (f, &rid, DISCO_RELOAD_KIND_CERTIFICATE_BY_USER, 0,
                               make_value (f, alice, &rid, DISCO_RELOAD_KIND_CERTIFICATE_BY_USER,
                                           DISCO_RELOAD_DATA_MODEL_ARRAY, DISCO_RELOAD_ARRAY_APPEND,
                                           NULL, alice2->cert->der, 60),
                               NULL),
                    ==, 0);
  g_assert_cmpuint (
      disco_reload_cert_pool_size (disco_reload_storage_get_certificates (f->storage)), ==, 1);

  f->certs = disco_reload_cert_pool_new (); /* the messages below carry no certificate */
  g_assert_cmpuint (store_one (f, &rid, KIND_SINGLE, 0,
                               make_value (f, alice2, &rid, KIND_SINGLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v, 600),
                               NULL),
                    ==, 0);
  /* A certificate nobody stored: unknown signer. */
  g_assert_cmpuint (store_one (f, &rid, KIND_SINGLE, 0,
                               make_value (f, alice3, &rid, KIND_SINGLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v, 600),
                               NULL),
                    ==, DISCO_RELOAD_ERROR_FORBIDDEN);

  /* The certificate value expires: the certificate-store pool empties. */
  f->now_ms += 61 * 1000;
  disco_reload_storage_expire (f->storage);
  g_assert_cmpuint (
      disco_reload_cert_pool_size (disco_reload_storage_get_certificates (f->storage)), ==, 0);
  disco_reload_cert_pool_free (f->certs);
  f->certs = full;
}

static void
test_node_multiple (Fixture *f, gconstpointer data)
{
  guint8 buf[17];
  DiscoReloadResourceId ok_rid, far_rid;
  g_autoptr (GBytes) v = text ("turn");

  memcpy (buf, disco_reload_identity_get_node_id (alice)->id, 16);
  buf[16] = 3;
  disco_reload_resource_id_from_name (buf, 17, &ok_rid);
  buf[16] = 9; /* beyond max-node-multiple 5 */
  disco_reload_resource_id_from_name (buf, 17, &far_rid);
  g_assert_cmpuint (store_one (f, &ok_rid, KIND_MULTIPLE, 0,
                               make_value (f, alice, &ok_rid, KIND_MULTIPLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v, 60),
                               NULL),
                    ==, 0);
  g_assert_cmpuint (store_one (f, &far_rid, KIND_MULTIPLE, 0,
                               make_value (f, alice, &far_rid, KIND_MULTIPLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v, 60),
                               NULL),
                    ==, DISCO_RELOAD_ERROR_FORBIDDEN);
  g_assert_cmpuint (store_one (f, &ok_rid, KIND_MULTIPLE, 0,
                               make_value (f, bob, &ok_rid, KIND_MULTIPLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v, 60),
                               NULL),
                    ==, DISCO_RELOAD_ERROR_FORBIDDEN);
}

static void
test_atomic (Fixture *f, gconstpointer data)
{
  DiscoReloadResourceId rid;
  g_autoptr (GBytes) v = text ("x");
  g_autoptr (GBytes) big = g_bytes_new_take (g_malloc0 (100), 100);
  DiscoReloadStoreReq req = { 0 };
  DiscoReloadStoreKindData *k1 = disco_reload_store_kind_data_new (KIND_SINGLE, 0);
  DiscoReloadStoreKindData *k2 = disco_reload_store_kind_data_new (KIND_ARRAY, 0);
  DiscoReloadStoreAns ans;
  DiscoReloadErrorResponse err = { 0 };

  rid_of ("alice@example.org", &rid);
  g_ptr_array_add (k1->values, make_value (f, alice, &rid, KIND_SINGLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v, 60));
  g_ptr_array_add (k2->values, make_value (f, alice, &rid, KIND_ARRAY,
                                           DISCO_RELOAD_DATA_MODEL_ARRAY, 0, NULL, big, 60));
  req.resource = rid;
  req.kind_data
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_store_kind_data_free);
  g_ptr_array_add (req.kind_data, k1);
  g_ptr_array_add (req.kind_data, k2);
  disco_reload_store_ans_init (&ans);
  g_assert_false (disco_reload_storage_store (f->storage, &req, f->certs, NULL, &ans, &err));
  g_assert_cmpuint (err.error_code, ==, DISCO_RELOAD_ERROR_DATA_TOO_LARGE);
  g_assert_cmpuint (disco_reload_storage_count (f->storage), ==, 0);
  g_clear_pointer (&err.error_info, g_bytes_unref);

  /* Fix the second value: both kinds go in, each with its own counter. */
  g_ptr_array_set_size (k2->values, 0);
  g_ptr_array_add (k2->values, make_value (f, alice, &rid, KIND_ARRAY,
                                           DISCO_RELOAD_DATA_MODEL_ARRAY, 0, NULL, v, 60));
  g_assert_true (disco_reload_storage_store (f->storage, &req, f->certs, NULL, &ans, &err));
  g_assert_cmpuint (ans.kind_responses->len, ==, 2);
  g_assert_cmpuint (disco_reload_storage_count (f->storage), ==, 2);
  disco_reload_store_ans_clear (&ans);
  g_ptr_array_unref (req.kind_data);
}

static void
test_stat_find (Fixture *f, gconstpointer data)
{
  DiscoReloadResourceId ra, rb, probe;
  g_autoptr (GBytes) v = text ("stat me");
  DiscoReloadFetchReq req = { 0 };
  DiscoReloadStatAns ans;
  DiscoReloadErrorResponse err = { 0 };
  DiscoReloadStatKindResponse *kr;
  DiscoReloadStoredMetaData *md;
  DiscoReloadFindReq freq = { 0 };
  DiscoReloadFindAns fans;
  guint8 expect[32];
  gsize n = sizeof expect;
  g_autoptr (GChecksum) ck = g_checksum_new (G_CHECKSUM_SHA256);
  const DiscoReloadResourceId *lo, *hi;

  rid_of ("alice@example.org", &ra);
  rid_of ("bob@example.org", &rb);
  g_assert_cmpuint (store_one (f, &ra, KIND_SINGLE, 0,
                               make_value (f, alice, &ra, KIND_SINGLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v, 60),
                               NULL),
                    ==, 0);
  g_assert_cmpuint (store_one (f, &rb, KIND_SINGLE, 0,
                               make_value (f, bob, &rb, KIND_SINGLE, DISCO_RELOAD_DATA_MODEL_SINGLE,
                                           0, NULL, v, 60),
                               NULL),
                    ==, 0);

  req.resource = ra;
  req.specifiers
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_stored_data_specifier_free);
  g_ptr_array_add (req.specifiers, disco_reload_stored_data_specifier_new (
                                       KIND_SINGLE, DISCO_RELOAD_DATA_MODEL_SINGLE));
  ans.kind_responses
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_stat_kind_response_free);
  g_assert_true (disco_reload_storage_stat (f->storage, &req, &ans, &err));
  kr = g_ptr_array_index (ans.kind_responses, 0);
  g_assert_cmpuint (kr->generation, ==, 1);
  md = g_ptr_array_index (kr->values, 0);
  g_assert_true (md->exists);
  g_assert_cmpuint (md->value_length, ==, 7);
  g_assert_cmpuint (md->lifetime, ==, 60);
  g_assert_cmpuint (md->hash_algorithm, ==, DISCO_RELOAD_HASH_SHA256);
  g_checksum_update (ck, (const guchar *)"\0\0\0\7stat me", 11);
  g_checksum_get_digest (ck, expect, &n);
  g_assert_cmpmem (g_bytes_get_data (md->hash_value, NULL), g_bytes_get_size (md->hash_value),
                   expect, 32);
  g_ptr_array_unref (ans.kind_responses);
  g_ptr_array_unref (req.specifiers);

  /* Find: the closest stored Resource-ID at or after the probe. */
  lo = memcmp (ra.id, rb.id, 16) < 0 ? &ra : &rb;
  hi = lo == &ra ? &rb : &ra;
  freq.kinds = g_array_new (FALSE, FALSE, sizeof (DiscoReloadKindId));
  g_array_append_vals (freq.kinds, &(DiscoReloadKindId){ KIND_SINGLE }, 1);
  g_array_append_vals (freq.kinds, &(DiscoReloadKindId){ KIND_ARRAY }, 1);
  fans.results = g_array_new (FALSE, TRUE, sizeof (DiscoReloadFindKindData));
  memset (&probe, 0, sizeof probe);
  probe.len = 16;
  freq.resource = probe;
  g_assert_true (disco_reload_storage_find (f->storage, &freq, &fans, &err));
  g_assert_cmpuint (fans.results->len, ==, 2);
  g_assert_cmpmem (g_array_index (fans.results, DiscoReloadFindKindData, 0).closest.id, 16, lo->id,
                   16);
  /* No array data anywhere: zero. */
  g_assert_cmpmem (g_array_index (fans.results, DiscoReloadFindKindData, 1).closest.id, 16,
                   probe.id, 16);
  g_array_set_size (fans.results, 0);
  probe = *lo;
  probe.id[15]++;
  freq.resource = probe;
  g_assert_true (disco_reload_storage_find (f->storage, &freq, &fans, &err));
  g_assert_cmpmem (g_array_index (fans.results, DiscoReloadFindKindData, 0).closest.id, 16, hi->id,
                   16);
  g_array_set_size (fans.results, 0);
  g_array_append_vals (freq.kinds, &(DiscoReloadKindId){ KIND_SINGLE }, 1);
  g_assert_false (disco_reload_storage_find (f->storage, &freq, &fans, &err));
  g_assert_cmpuint (err.error_code, ==, DISCO_RELOAD_ERROR_INVALID_MESSAGE);
  g_clear_pointer (&err.error_info, g_bytes_unref);
  g_array_unref (fans.results);
  g_array_unref (freq.kinds);
}

static void
count_export (const DiscoReloadResourceId *rid, DiscoReloadStoreKindData *kd, gpointer data)
{
  guint *n = data;

  *n += kd->values->len;
  for (guint i = 0; i < kd->values->len; i++)
    g_assert_cmpuint (((DiscoReloadStoredData *)kd->values->pdata[i])->lifetime, <=, 50);
}

static void
test_export (Fixture *f, gconstpointer data)
{
  DiscoReloadResourceId rid;
  g_autoptr (GBytes) v = text ("x");
  guint n = 0;

  rid_of ("alice@example.org", &rid);
  g_assert_cmpuint (store_one (f, &rid, KIND_SINGLE, 0,
                               make_value (f, alice, &rid, KIND_SINGLE,
                                           DISCO_RELOAD_DATA_MODEL_SINGLE, 0, NULL, v, 60),
                               NULL),
                    ==, 0);
  f->now_ms += 10000;
  /* Handover copies carry the remaining lifetime. */
  disco_reload_storage_foreach (f->storage, count_export, &n);
  g_assert_cmpuint (n, ==, 1);
  disco_reload_storage_remove_resource (f->storage, &rid);
  g_assert_cmpuint (disco_reload_storage_count (f->storage), ==, 0);
}

static void
teardown (Fixture *f, gconstpointer data)
{
  fixture_clear (f);
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  int rc;

  g_test_init (&argc, &argv, NULL);
  alice = disco_reload_identity_new_self_signed ("alice@example.org", OVERLAY,
                                                 DISCO_RELOAD_DIGEST_SHA256, 1, 0, 0, &error);
  g_assert_no_error (error);
  bob = disco_reload_identity_new_self_signed ("bob@example.org", OVERLAY,
                                               DISCO_RELOAD_DIGEST_SHA256, 1, 0, 0, &error);
  g_assert_no_error (error);

#define ADD(path, fn) g_test_add ("/reload-storage/" path, Fixture, NULL, setup, fn, teardown)
  ADD ("single", test_single);
  ADD ("signature-required", test_signature_required);
  ADD ("request-signer", test_request_signer);
  ADD ("expiry", test_expiry);
  ADD ("array", test_array);
  ADD ("bad-ranges", test_bad_ranges);
  ADD ("dictionary-sip", test_dictionary_sip);
  ADD ("domain-restriction", test_domain_restriction);
  ADD ("certificates", test_certificates);
  ADD ("certificate-store", test_certificate_store);
  ADD ("node-multiple", test_node_multiple);
  ADD ("atomic", test_atomic);
  ADD ("stat-find", test_stat_find);
  ADD ("export", test_export);
  rc = g_test_run ();
  disco_reload_identity_unref (alice);
  disco_reload_identity_unref (bob);
  return rc;
}
