/* RFC 8076 ShaRe access control on a storing peer: the default overlay's
 * DISCO-REGISTRATION and ACCESS-CONTROL-LIST kinds (USER-CHAIN-ACL with the
 * ".*-conf-$USER@$DOMAIN" variable resource name pattern). */
#include "storage-test-util.h"

#define CONF "team-conf-alice@example.org"
#define KIND_DISCO DISCO_RELOAD_KIND_DISCO_REGISTRATION
#define KIND_ACL DISCO_RELOAD_KIND_ACCESS_CONTROL_LIST

static DiscoReloadIdentity *alice, *bob, *carol, *dave, *mallory;

typedef struct
{
  Fixture f;
  DiscoReloadResourceId conf;
} ShareFixture;

static void
setup (ShareFixture *s, gconstpointer data)
{
  DiscoReloadIdentity *ids[] = { alice, bob, carol, dave, mallory };

  fixture_init (&s->f, NULL, ids, G_N_ELEMENTS (ids));
  rid_of (CONF, &s->conf);
}

static void
teardown (ShareFixture *s, gconstpointer data)
{
  fixture_clear (&s->f);
}

static guint32
idx (const DiscoReloadIdentity *id, guint8 counter)
{
  return disco_reload_share_array_index (disco_reload_identity_get_node_id (id), counter);
}

static DiscoReloadStoredData *
acl_value (ShareFixture *s, const DiscoReloadIdentity *signer, guint32 index, const char *name,
           const char *to_user, gboolean ad, guint32 lifetime)
{
  DiscoReloadAclItem item = { (char *)name, (char *)to_user, KIND_DISCO, ad };
  g_autoptr (GBytes) v = to_user ? disco_reload_acl_item_encode (&item, NULL) : NULL;

  return make_value (&s->f, signer, &s->conf, KIND_ACL, DISCO_RELOAD_DATA_MODEL_ARRAY, index, NULL,
                     v, lifetime);
}

static DiscoReloadStoredData *
disco_value_key (ShareFixture *s, const DiscoReloadIdentity *signer, GBytes *key, const char *name,
                 gboolean exists)
{
  DiscoReloadDiscoRegistration reg;
  DiscoReloadDestination d;
  g_autoptr (GBytes) v = NULL;

  disco_reload_disco_registration_init (&reg);
  reg.resource_name = g_strdup (name);
  reg.coordinate = g_bytes_new_static ("\x01\x00\x00\x00\x00", 5);
  reg.max_participants = 50;
  disco_reload_destination_set_node (&d, disco_reload_identity_get_node_id (signer));
  g_array_append_val (reg.dest_list, d);
  v = disco_reload_disco_registration_encode (&reg, NULL);
  disco_reload_disco_registration_clear (&reg);
  return make_value (&s->f, signer, &s->conf, KIND_DISCO, DISCO_RELOAD_DATA_MODEL_DICTIONARY, 0,
                     key, exists ? v : NULL, 300);
}

static DiscoReloadStoredData *
disco_value (ShareFixture *s, const DiscoReloadIdentity *signer, const char *name)
{
  g_autoptr (GBytes) key = node_key (signer);

  return disco_value_key (s, signer, key, name, TRUE);
}

static guint16
put (ShareFixture *s, DiscoReloadKindId kind, DiscoReloadStoredData *sd_steal)
{
  s->f.now_ms++; /* each write strictly newer */
  return store_one (&s->f, &s->conf, kind, 0, sd_steal, NULL);
}

/* Alice creates the conference: ACL root item + her registration in ONE
 * StoreReq (disco.md §5.1). */
static void
create_conference (ShareFixture *s)
{
  DiscoReloadStoreReq req = { 0 };
  DiscoReloadStoreKindData *ka = disco_reload_store_kind_data_new (KIND_ACL, 0);
  DiscoReloadStoreKindData *kd = disco_reload_store_kind_data_new (KIND_DISCO, 0);
  DiscoReloadStoreAns ans;
  DiscoReloadErrorResponse err = { 0 };

  g_ptr_array_add (ka->values,
                   acl_value (s, alice, idx (alice, 1), CONF, "alice@example.org", TRUE, 3600));
  g_ptr_array_add (kd->values, disco_value (s, alice, CONF));
  req.resource = s->conf;
  req.kind_data
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_store_kind_data_free);
  g_ptr_array_add (req.kind_data, ka);
  g_ptr_array_add (req.kind_data, kd);
  disco_reload_store_ans_init (&ans);
  g_assert_true (disco_reload_storage_store (s->f.storage, &req, s->f.certs, NULL, &ans, &err));
  g_assert_cmpuint (err.error_code, ==, 0);
  disco_reload_store_ans_clear (&ans);
  g_ptr_array_unref (req.kind_data);
}

static guint
count_disco (ShareFixture *s, const DiscoReloadIdentity *who)
{
  g_autoptr (GPtrArray) got = fetch_kind (
      &s->f, &s->conf, KIND_DISCO, DISCO_RELOAD_DATA_MODEL_DICTIONARY, 0, NULL, NULL, NULL, NULL);
  g_autoptr (GBytes) key = who ? node_key (who) : NULL;
  guint n = 0;

  for (guint i = 0; i < got->len; i++)
    {
      DiscoReloadStoredData *sd = g_ptr_array_index (got, i);
      if (sd->value.exists && (key == NULL || g_bytes_equal (sd->value.key, key)))
        n++;
    }
  return n;
}

static void
test_owner_creates (ShareFixture *s, gconstpointer data)
{
  create_conference (s);
  g_assert_cmpuint (count_disco (s, alice), ==, 1);
  /* The owner refreshes her entry. */
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, alice, CONF)), ==, 0);
  /* Bob, without any grant, cannot register as a focus. */
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, bob, CONF)), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);
  g_assert_cmpuint (count_disco (s, NULL), ==, 1);
}

/* alice (root, ad=1) -> bob (ad=1) -> carol (ad=0). */
static void
build_chain (ShareFixture *s)
{
  create_conference (s);
  g_assert_cmpuint (
      put (s, KIND_ACL, acl_value (s, alice, idx (alice, 2), CONF, "bob@example.org", TRUE, 3600)),
      ==, 0);
  g_assert_cmpuint (
      put (s, KIND_ACL, acl_value (s, bob, idx (bob, 1), CONF, "carol@example.org", FALSE, 3600)),
      ==, 0);
}

static void
test_three_link_chain (ShareFixture *s, gconstpointer data)
{
  build_chain (s);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, bob, CONF)), ==, 0);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, carol, CONF)), ==, 0);
  g_assert_cmpuint (count_disco (s, NULL), ==, 3);
  /* Dave has no grant: neither a value nor a deletion marker. */
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, dave, CONF)), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);
  {
    g_autoptr (GBytes) dave_key = node_key (dave);
    g_assert_cmpuint (put (s, KIND_DISCO, disco_value_key (s, dave, dave_key, CONF, FALSE)), ==,
                      DISCO_RELOAD_ERROR_FORBIDDEN);
  }
  /* Carol may write but not delegate (ad = 0). */
  g_assert_cmpuint (
      put (s, KIND_ACL,
           acl_value (s, carol, idx (carol, 1), CONF, "dave@example.org", FALSE, 3600)),
      ==, DISCO_RELOAD_ERROR_FORBIDDEN);
  /* Bob (ad = 1) may delegate to dave, who then writes. */
  g_assert_cmpuint (
      put (s, KIND_ACL, acl_value (s, bob, idx (bob, 2), CONF, "dave@example.org", FALSE, 3600)),
      ==, 0);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, dave, CONF)), ==, 0);
  g_assert_cmpuint (count_disco (s, NULL), ==, 4);
}

static void
test_isolation (ShareFixture *s, gconstpointer data)
{
  g_autoptr (GBytes) carol_key = node_key (carol);
  g_autoptr (GBytes) bob_key = node_key (bob);

  build_chain (s);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, carol, CONF)), ==, 0);
  /* Bob may write, but only under his own Node-ID. */
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value_key (s, bob, carol_key, CONF, TRUE)), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value_key (s, bob, carol_key, CONF, FALSE)), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);
  /* ... and ACL items only in his index range, never by append, never over
   * somebody else's item. */
  g_assert_cmpuint (
      put (s, KIND_ACL, acl_value (s, bob, idx (alice, 9), CONF, "dave@example.org", FALSE, 3600)),
      ==, DISCO_RELOAD_ERROR_FORBIDDEN);
  g_assert_cmpuint (
      put (s, KIND_ACL,
           acl_value (s, bob, DISCO_RELOAD_ARRAY_APPEND, CONF, "dave@example.org", FALSE, 3600)),
      ==, DISCO_RELOAD_ERROR_FORBIDDEN);
  g_assert_cmpuint (
      put (s, KIND_ACL, acl_value (s, bob, idx (alice, 1), CONF, "dave@example.org", FALSE, 3600)),
      ==, DISCO_RELOAD_ERROR_FORBIDDEN);
  /* The owner may remove anybody's entry (RFC 8076 §6.2). */
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value_key (s, alice, carol_key, CONF, FALSE)), ==, 0);
  g_assert_cmpuint (count_disco (s, carol), ==, 0);
  /* A writer may delete its own entry. */
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, bob, CONF)), ==, 0);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value_key (s, bob, bob_key, CONF, FALSE)), ==, 0);
  g_assert_cmpuint (count_disco (s, bob), ==, 0);
}

static void
test_names (ShareFixture *s, gconstpointer data)
{
  DiscoReloadResourceId bobs_conf, alice_own;
  g_autoptr (GBytes) v = g_bytes_new_static ("\x01\x00\x00\x00\x00\x00\x00\x00\x00", 9);

  /* Mallory cannot make herself owner of alice's conference. */
  g_assert_cmpuint (
      put (s, KIND_ACL,
           acl_value (s, mallory, idx (mallory, 1), CONF, "mallory@example.org", TRUE, 3600)),
      ==, DISCO_RELOAD_ERROR_FORBIDDEN);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, mallory, CONF)), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);
  /* The name must hash to the Resource-ID ... */
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, alice, "other-conf-alice@example.org")), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);
  /* ... and be present (variable names are enabled for the kind). */
  {
    g_autoptr (GBytes) key = node_key (alice);
    s->f.now_ms++;
    g_assert_cmpuint (store_one (&s->f, &s->conf, KIND_DISCO, 0,
                                 make_value (&s->f, alice, &s->conf, KIND_DISCO,
                                             DISCO_RELOAD_DATA_MODEL_DICTIONARY, 0, key, v, 300),
                                 NULL),
                      ==, DISCO_RELOAD_ERROR_FORBIDDEN);
  }

  /* Alice does not own bob's conference name even though it matches the
   * pattern for bob. */
  rid_of ("team-conf-bob@example.org", &bobs_conf);
  s->conf = bobs_conf;
  g_assert_cmpuint (put (s, KIND_ACL,
                         acl_value (s, alice, idx (alice, 1), "team-conf-bob@example.org",
                                    "alice@example.org", TRUE, 3600)),
                    ==, DISCO_RELOAD_ERROR_FORBIDDEN);
  g_assert_cmpuint (put (s, KIND_ACL,
                         acl_value (s, bob, idx (bob, 1), "team-conf-bob@example.org",
                                    "bob@example.org", TRUE, 3600)),
                    ==, 0);
  /* The pattern needs the fixed "-conf-" delimiter. */
  rid_of ("teamalice@example.org", &s->conf);
  g_assert_cmpuint (put (s, KIND_ACL,
                         acl_value (s, alice, idx (alice, 1), "teamalice@example.org",
                                    "alice@example.org", TRUE, 3600)),
                    ==, DISCO_RELOAD_ERROR_FORBIDDEN);
  /* Without a pattern match the user's own name works (USER-MATCH). */
  rid_of ("alice@example.org", &alice_own);
  s->conf = alice_own;
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, alice, "alice@example.org")), ==, 0);
}

static void
test_revocation (ShareFixture *s, gconstpointer data)
{
  build_chain (s);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, bob, CONF)), ==, 0);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, carol, CONF)), ==, 0);
  g_assert_cmpuint (count_disco (s, NULL), ==, 3);

  /* Alice revokes bob's item: bob and everyone bob delegated to lose access. */
  g_assert_cmpuint (
      put (s, KIND_ACL, acl_value (s, alice, idx (alice, 2), NULL, NULL, FALSE, 3600)), ==, 0);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, carol, CONF)), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, bob, CONF)), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);
  g_assert_cmpuint (
      put (s, KIND_ACL, acl_value (s, bob, idx (bob, 2), CONF, "dave@example.org", FALSE, 3600)),
      ==, DISCO_RELOAD_ERROR_FORBIDDEN);
  /* Their existing registrations are no longer served. */
  g_assert_cmpuint (count_disco (s, NULL), ==, 1);
  g_assert_cmpuint (count_disco (s, alice), ==, 1);

  /* Re-granting restores the subtree; killing the root kills it all. */
  g_assert_cmpuint (
      put (s, KIND_ACL, acl_value (s, alice, idx (alice, 2), CONF, "bob@example.org", TRUE, 3600)),
      ==, 0);
  g_assert_cmpuint (count_disco (s, NULL), ==, 3);
  g_assert_cmpuint (
      put (s, KIND_ACL, acl_value (s, alice, idx (alice, 1), NULL, NULL, FALSE, 3600)), ==, 0);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, carol, CONF)), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);
  g_assert_cmpuint (count_disco (s, NULL), ==, 1);
  /* Overwriting an item with another Kind-ID also revokes (here: an item
   * for SIP-REGISTRATION, which is not a USER-CHAIN-ACL kind, is refused). */
  {
    DiscoReloadAclItem item = { CONF, "bob@example.org", DISCO_RELOAD_KIND_SIP_REGISTRATION, TRUE };
    g_autoptr (GBytes) v = disco_reload_acl_item_encode (&item, NULL);
    s->f.now_ms++;
    g_assert_cmpuint (
        store_one (&s->f, &s->conf, KIND_ACL, 0,
                   make_value (&s->f, alice, &s->conf, KIND_ACL, DISCO_RELOAD_DATA_MODEL_ARRAY,
                               idx (alice, 3), NULL, v, 60),
                   NULL),
        ==, DISCO_RELOAD_ERROR_FORBIDDEN);
  }
}

static void
test_expired_grant (ShareFixture *s, gconstpointer data)
{
  create_conference (s);
  g_assert_cmpuint (
      put (s, KIND_ACL, acl_value (s, alice, idx (alice, 2), CONF, "dave@example.org", FALSE, 10)),
      ==, 0);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, dave, CONF)), ==, 0);
  s->f.now_ms += 20000;
  /* The grant expired: dave's refresh is refused and his entry is not served. */
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, dave, CONF)), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);
  g_assert_cmpuint (count_disco (s, dave), ==, 0);
  g_assert_cmpuint (count_disco (s, alice), ==, 1);
}

static void
test_forged_item (ShareFixture *s, gconstpointer data)
{
  DiscoReloadStoredData *sd;
  DiscoReloadAclItem item = { CONF, "mallory@example.org", KIND_DISCO, TRUE };

  create_conference (s);
  /* Alice signed a grant for dave; mallory rewrites to_user. */
  sd = acl_value (s, alice, idx (alice, 2), CONF, "dave@example.org", TRUE, 3600);
  g_bytes_unref (sd->value.value);
  sd->value.value = disco_reload_acl_item_encode (&item, NULL);
  g_assert_cmpuint (put (s, KIND_ACL, sd), ==, DISCO_RELOAD_ERROR_FORBIDDEN);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, mallory, CONF)), ==,
                    DISCO_RELOAD_ERROR_FORBIDDEN);
  /* A forged registration from a legitimately granted user fails too. */
  g_assert_cmpuint (
      put (s, KIND_ACL, acl_value (s, alice, idx (alice, 2), CONF, "dave@example.org", TRUE, 3600)),
      ==, 0);
  sd = disco_value (s, dave, CONF);
  g_bytes_unref (sd->value.value);
  sd->value.value = g_bytes_new_static ("tampered", 8);
  g_assert_cmpuint (put (s, KIND_DISCO, sd), ==, DISCO_RELOAD_ERROR_FORBIDDEN);
}

typedef struct
{
  Fixture *to;
  guint stored;
} Replicate;

static void
replicate_one (const DiscoReloadResourceId *rid, DiscoReloadStoreKindData *kd, gpointer data)
{
  Replicate *r = data;
  g_autoptr (GPtrArray) v = g_ptr_array_ref (kd->values);
  guint64 gen = 0;

  g_assert_cmpuint (
      store_values (r->to, rid, kd->kind, kd->generation_counter, 1, v, NULL, &gen, NULL), ==, 0);
  g_assert_cmpuint (gen, ==, kd->generation_counter);
  r->stored += v->len;
}

/* Handover / replication: the exported copies (remaining lifetimes, ACL
 * first) are accepted by an empty peer, whose checks pass on their own. */
static void
test_replicate (ShareFixture *s, gconstpointer data)
{
  ShareFixture other;
  Replicate r = { &other.f, 0 };

  build_chain (s);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, bob, CONF)), ==, 0);
  g_assert_cmpuint (put (s, KIND_DISCO, disco_value (s, carol, CONF)), ==, 0);
  setup (&other, NULL);
  other.f.now_ms = s->f.now_ms;
  disco_reload_storage_foreach (s->f.storage, replicate_one, &r);
  g_assert_cmpuint (r.stored, ==, 6);
  g_assert_cmpuint (disco_reload_storage_count (other.f.storage), ==, 6);
  teardown (&other, NULL);
}

/* Chains built directly against the access module: loops terminate, and the
 * walk is bounded in depth. */
static void
test_chain_bounds (ShareFixture *s, gconstpointer data)
{
  g_autoptr (GPtrArray) acl
      = g_ptr_array_new_with_free_func ((GDestroyNotify)disco_reload_acl_entry_free);
  const DiscoReloadKindConfig *kind = disco_reload_config_find_kind (s->f.config, KIND_DISCO);
  DiscoReloadAccessContext ctx = { s->f.config, kind, &s->conf, acl };
  char user[64], prev[64];

#define ITEM(signer, to, ad)                                                                       \
  do                                                                                               \
    {                                                                                              \
      DiscoReloadAclItem it = { g_strdup (CONF), g_strdup (to), KIND_DISCO, ad };                  \
      g_ptr_array_add (acl, disco_reload_acl_entry_new (acl->len, &it, signer));                   \
    }                                                                                              \
  while (0)

  /* bob <-> carol delegate to each other, no root. */
  ITEM ("bob@example.org", "carol@example.org", TRUE);
  ITEM ("carol@example.org", "bob@example.org", TRUE);
  g_assert_false (
      disco_reload_access_chain_valid (&ctx, "carol@example.org", KIND_DISCO, FALSE, CONF));
  g_assert_false (
      disco_reload_access_chain_valid (&ctx, "bob@example.org", KIND_DISCO, FALSE, CONF));
  /* With a root and a grant to bob, both become valid. */
  ITEM ("alice@example.org", "alice@example.org", TRUE);
  ITEM ("alice@example.org", "bob@example.org", TRUE);
  g_assert_true (
      disco_reload_access_chain_valid (&ctx, "carol@example.org", KIND_DISCO, FALSE, CONF));
  g_assert_true (disco_reload_access_is_owner (&ctx, "alice@example.org", CONF));
  g_assert_false (disco_reload_access_is_owner (&ctx, "bob@example.org", CONF));
  /* A root signed by someone who is not the owner does not count. */
  g_ptr_array_set_size (acl, 0);
  ITEM ("bob@example.org", "bob@example.org", TRUE);
  ITEM ("bob@example.org", "carol@example.org", TRUE);
  g_assert_false (
      disco_reload_access_chain_valid (&ctx, "carol@example.org", KIND_DISCO, FALSE, CONF));

  /* A linear chain of 30 delegations from the root: the depth bound cuts it. */
  g_ptr_array_set_size (acl, 0);
  ITEM ("alice@example.org", "alice@example.org", TRUE);
  g_strlcpy (prev, "alice@example.org", sizeof prev);
  for (int i = 0; i < 30; i++)
    {
      g_snprintf (user, sizeof user, "u%d@example.org", i);
      ITEM (prev, user, TRUE);
      g_strlcpy (prev, user, sizeof prev);
    }
  g_assert_true (disco_reload_access_chain_valid (&ctx, "u2@example.org", KIND_DISCO, FALSE, CONF));
  g_assert_false (
      disco_reload_access_chain_valid (&ctx, "u29@example.org", KIND_DISCO, FALSE, CONF));
  /* Other kinds are not granted by these items. */
  g_assert_false (disco_reload_access_chain_valid (&ctx, "u2@example.org", KIND_ACL, FALSE, CONF));
#undef ITEM
}

int
main (int argc, char **argv)
{
  g_autoptr (GError) error = NULL;
  DiscoReloadIdentity **ids[] = { &alice, &bob, &carol, &dave, &mallory };
  const char *names[] = { "alice@example.org", "bob@example.org", "carol@example.org",
                          "dave@example.org", "mallory@example.org" };
  int rc;

  g_test_init (&argc, &argv, NULL);
  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    {
      *ids[i] = disco_reload_identity_new_self_signed (names[i], OVERLAY,
                                                       DISCO_RELOAD_DIGEST_SHA256, 1, 0, 0, &error);
      g_assert_no_error (error);
    }

#define ADD(path, fn) g_test_add ("/reload-access/" path, ShareFixture, NULL, setup, fn, teardown)
  ADD ("owner-creates", test_owner_creates);
  ADD ("three-link-chain", test_three_link_chain);
  ADD ("isolation", test_isolation);
  ADD ("names", test_names);
  ADD ("revocation", test_revocation);
  ADD ("expired-grant", test_expired_grant);
  ADD ("forged-item", test_forged_item);
  ADD ("chain-bounds", test_chain_bounds);
  ADD ("replicate", test_replicate);
  rc = g_test_run ();
  for (gsize i = 0; i < G_N_ELEMENTS (ids); i++)
    disco_reload_identity_unref (*ids[i]);
  return rc;
}
