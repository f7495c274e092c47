/* Encode/decode of kind values: ResourceNameExtension, AccessControlListItem,
 * SipRegistration, DisCoRegistration; byte layouts checked by hand. */
#include <string.h>

#include "reload-usages.h"

static void
test_name_ext (void)
{
  g_autoptr (GByteArray) out = g_byte_array_new ();
  g_autofree char *name = NULL;
  gsize used = 0;
  g_autoptr (GError) error = NULL;
  static const guint8 expect[] = { 0x01, 0x00, 0x05, 0x00, 0x03, 'a', '@', 'b' };
  static const guint8 bad_type[] = { 0x02, 0x00, 0x05, 0x00, 0x03, 'a', '@', 'b' };
  static const guint8 bad_len[] = { 0x01, 0x00, 0x06, 0x00, 0x03, 'a', '@', 'b', 'x' };
  static const guint8 nul[] = { 0x01, 0x00, 0x05, 0x00, 0x03, 'a', 0, 'b' };

  g_assert_true (disco_reload_resource_name_ext_encode ("a@b", out, &error));
  g_assert_cmpmem (out->data, out->len, expect, sizeof expect);
  g_assert_true (
      disco_reload_resource_name_ext_decode (expect, sizeof expect, &name, &used, &error));
  g_assert_cmpstr (name, ==, "a@b");
  g_assert_cmpuint (used, ==, 8);
  for (gsize n = 0; n < sizeof expect; n++)
    {
      char *tmp = NULL;
      g_assert_false (disco_reload_resource_name_ext_decode (expect, n, &tmp, &used, NULL));
      g_assert_null (tmp);
    }
  g_assert_false (
      disco_reload_resource_name_ext_decode (bad_type, sizeof bad_type, &name, &used, NULL));
  g_assert_false (
      disco_reload_resource_name_ext_decode (bad_len, sizeof bad_len, &name, &used, NULL));
  g_assert_false (disco_reload_resource_name_ext_decode (nul, sizeof nul, &name, &used, &error));
  g_assert_error (error, DISCO_RELOAD_USAGE_ERROR, DISCO_RELOAD_USAGE_ERROR_MALFORMED);
}

static void
test_acl_item (void)
{
  DiscoReloadAclItem item = { "x-conf-a@b", "c@d", 0xF0000D15u, TRUE };
  DiscoReloadAclItem plain = { NULL, "c@d", 4, FALSE };
  DiscoReloadAclItem back;
  g_autoptr (GBytes) b = disco_reload_acl_item_encode (&item, NULL);
  g_autoptr (GBytes) p = disco_reload_acl_item_encode (&plain, NULL);
  static const guint8 expect_plain[] = { 0x00, 0x03, 'c', '@', 'd', 0x00, 0x00, 0x00, 0x04, 0x00 };
  gsize n;
  const guint8 *d = g_bytes_get_data (b, &n);
  guint8 bad[32];
  DiscoReloadNodeId nid;

  g_assert_cmpmem (g_bytes_get_data (p, NULL), g_bytes_get_size (p), expect_plain,
                   sizeof expect_plain);
  g_assert_true (disco_reload_acl_item_decode (d, n, TRUE, &back, NULL));
  g_assert_cmpstr (back.resource_name, ==, "x-conf-a@b");
  g_assert_cmpstr (back.to_user, ==, "c@d");
  g_assert_cmpuint (back.kind, ==, 0xF0000D15u);
  g_assert_true (back.allow_delegation);
  disco_reload_acl_item_clear (&back);

  /* The extension's presence is configuration, not self-describing. */
  g_assert_false (disco_reload_acl_item_decode (d, n, FALSE, &back, NULL));
  g_assert_true (
      disco_reload_acl_item_decode (expect_plain, sizeof expect_plain, FALSE, &back, NULL));
  g_assert_null (back.resource_name);
  g_assert_false (back.allow_delegation);
  disco_reload_acl_item_clear (&back);

  /* Truncations, a trailing byte, a non-boolean ad, an empty user. */
  for (gsize i = 0; i < sizeof expect_plain; i++)
    g_assert_false (disco_reload_acl_item_decode (expect_plain, i, FALSE, &back, NULL));
  memcpy (bad, expect_plain, sizeof expect_plain);
  bad[sizeof expect_plain] = 0;
  g_assert_false (disco_reload_acl_item_decode (bad, sizeof expect_plain + 1, FALSE, &back, NULL));
  bad[9] = 2;
  g_assert_false (disco_reload_acl_item_decode (bad, sizeof expect_plain, FALSE, &back, NULL));
  {
    static const guint8 empty_user[] = { 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x01 };
    g_assert_false (
        disco_reload_acl_item_decode (empty_user, sizeof empty_user, FALSE, &back, NULL));
  }

  /* lsb24(Node-ID) << 8 | counter */
  memset (&nid, 0, sizeof nid);
  nid.id[13] = 0xAB, nid.id[14] = 0xCD, nid.id[15] = 0xEF, nid.id[0] = 0x77;
  g_assert_cmpuint (disco_reload_share_array_index (&nid, 0x05), ==, 0xABCDEF05u);
}

static void
test_sip_registration (void)
{
  DiscoReloadSipRegistration uri
      = { DISCO_RELOAD_SIP_REGISTRATION_URI, "bob@example.org", NULL, NULL };
  DiscoReloadSipRegistration route
      = { DISCO_RELOAD_SIP_REGISTRATION_ROUTE, NULL, "(sip.schemes=SIP)",
          g_array_new (FALSE, TRUE, sizeof (DiscoReloadDestination)) };
  DiscoReloadSipRegistration back;
  DiscoReloadDestination d;
  DiscoReloadNodeId nid;
  g_autoptr (GBytes) u = NULL;
  g_autoptr (GBytes) r = NULL;
  static const guint8 expect_uri[] = { 0x01, 0x00, 0x11, 0x00, 0x0f, 'b', 'o', 'b', '@', 'e',
                                       'x',  'a',  'm',  'p',  'l',  'e', '.', 'o', 'r', 'g' };
  const guint8 *rd;
  gsize rn;

  u = disco_reload_sip_registration_encode (&uri, NULL);
  g_assert_cmpmem (g_bytes_get_data (u, NULL), g_bytes_get_size (u), expect_uri, sizeof expect_uri);
  g_assert_true (disco_reload_sip_registration_decode (expect_uri, sizeof expect_uri, &back, NULL));
  g_assert_cmpint (back.type, ==, DISCO_RELOAD_SIP_REGISTRATION_URI);
  g_assert_cmpstr (back.uri, ==, "bob@example.org");
  disco_reload_sip_registration_clear (&back);

  memset (nid.id, 0x5a, sizeof nid.id);
  disco_reload_destination_set_node (&d, &nid);
  g_array_append_val (route.destinations, d);
  r = disco_reload_sip_registration_encode (&route, NULL);
  rd = g_bytes_get_data (r, &rn);
  /* type 2, length, prefs<2>, destination_list<2> = 01 10 + 16 bytes */
  g_assert_cmpuint (rn, ==, 1 + 2 + 2 + 17 + 2 + 18);
  g_assert_cmpuint (rd[0], ==, 2);
  g_assert_cmpuint (rd[rn - 18], ==, 0x01);
  g_assert_cmpuint (rd[rn - 17], ==, 0x10);
  g_assert_true (disco_reload_sip_registration_decode (rd, rn, &back, NULL));
  g_assert_cmpstr (back.contact_prefs, ==, "(sip.schemes=SIP)");
  g_assert_cmpuint (back.destinations->len, ==, 1);
  g_assert_cmpmem (g_array_index (back.destinations, DiscoReloadDestination, 0).node.id, 16, nid.id,
                   16);
  disco_reload_sip_registration_clear (&back);
  for (gsize i = 0; i < rn; i++)
    g_assert_false (disco_reload_sip_registration_decode (rd, i, &back, NULL));
  g_array_set_size (route.destinations, 0);
  g_assert_null (disco_reload_sip_registration_encode (&route, NULL));
  g_array_unref (route.destinations);

  {
    g_autofree char *a = disco_reload_aor_normalize ("sip:alice%40home@example.org");
    g_autofree char *b = disco_reload_aor_normalize ("SIPS:bob@example.org");
    g_autofree char *c = disco_reload_aor_normalize ("carol@example.org");
    g_assert_cmpstr (a, ==, "alice@home@example.org");
    g_assert_cmpstr (b, ==, "bob@example.org");
    g_assert_cmpstr (c, ==, "carol@example.org");
  }
}

static void
test_disco_registration (void)
{
  DiscoReloadDiscoRegistration reg, back;
  DiscoReloadDestination d;
  DiscoReloadNodeId nid;
  g_autoptr (GBytes) b = NULL;
  g_autoptr (GError) error = NULL;
  const guint8 *data;
  gsize n;

  disco_reload_disco_registration_init (&reg);
  reg.resource_name = g_strdup ("team-conf-alice@example.org");
  reg.coordinate = g_bytes_new_static ("\x01\x02\x03", 3);
  memset (nid.id, 0x33, sizeof nid.id);
  disco_reload_destination_set_node (&d, &nid);
  g_array_append_val (reg.dest_list, d);
  reg.max_participants = 50;
  reg.cur_participants = 7;
  b = disco_reload_disco_registration_encode (&reg, &error);
  g_assert_no_error (error);
  data = g_bytes_get_data (b, &n);
  /* ext(3 + 2 + 27) + version + coord<2>3 + dest<2>18 + 2 + 2 */
  g_assert_cmpuint (n, ==, 32 + 1 + 5 + 20 + 4);
  g_assert_cmpuint (data[32], ==, 1);
  g_assert_cmpuint (data[n - 1], ==, 7);
  g_assert_true (disco_reload_disco_registration_decode (data, n, TRUE, &back, &error));
  g_assert_cmpstr (back.resource_name, ==, reg.resource_name);
  g_assert_true (g_bytes_equal (back.coordinate, reg.coordinate));
  g_assert_cmpuint (back.dest_list->len, ==, 1);
  g_assert_cmpuint (back.max_participants, ==, 50);
  g_assert_cmpuint (back.cur_participants, ==, 7);
  disco_reload_disco_registration_clear (&back);
  for (gsize i = 0; i < n; i++)
    g_assert_false (disco_reload_disco_registration_decode (data, i, TRUE, &back, NULL));
  /* Without the extension the first byte is read as the version. */
  g_assert_false (disco_reload_disco_registration_decode (data, n, FALSE, &back, NULL));
  disco_reload_disco_registration_clear (&reg);
}

/* Mutated inputs: decoders must never crash, and whatever they accept must
 * re-encode to exactly the same bytes (no silently ignored bytes). */
static GBytes *
reencode (int which, const guint8 *d, gsize n, gboolean *accepted)
{
  GBytes *out = NULL;

  *accepted = FALSE;
  if (which == 0 || which == 1)
    {
      DiscoReloadAclItem item;
      if ((*accepted = disco_reload_acl_item_decode (d, n, which == 1, &item, NULL)))
        {
          out = disco_reload_acl_item_encode (&item, NULL);
          disco_reload_acl_item_clear (&item);
        }
    }
  else if (which == 2)
    {
      DiscoReloadSipRegistration reg;
      if ((*accepted = disco_reload_sip_registration_decode (d, n, &reg, NULL)))
        {
          out = disco_reload_sip_registration_encode (&reg, NULL);
          disco_reload_sip_registration_clear (&reg);
        }
    }
  else
    {
      DiscoReloadDiscoRegistration reg;
      if ((*accepted = disco_reload_disco_registration_decode (d, n, TRUE, &reg, NULL)))
        {
          out = disco_reload_disco_registration_encode (&reg, NULL);
          disco_reload_disco_registration_clear (&reg);
        }
    }
  return out;
}

static void
test_mutations (void)
{
  DiscoReloadAclItem acl = { "x-conf-a@b", "c@d", 7, TRUE };
  DiscoReloadAclItem acl_plain = { NULL, "user@example.org", 0xF0000D15u, FALSE };
  DiscoReloadSipRegistration sip = { DISCO_RELOAD_SIP_REGISTRATION_ROUTE, NULL, "(x)",
                                     g_array_new (FALSE, TRUE, sizeof (DiscoReloadDestination)) };
  DiscoReloadDiscoRegistration dr;
  DiscoReloadDestination d;
  DiscoReloadNodeId nid;
  GBytes *seeds[4];
  guint accepted_total = 0;

  memset (nid.id, 0x21, sizeof nid.id);
  disco_reload_destination_set_node (&d, &nid);
  g_array_append_val (sip.destinations, d);
  disco_reload_disco_registration_init (&dr);
  dr.resource_name = g_strdup ("a-conf-b@c");
  g_array_append_val (dr.dest_list, d);
  seeds[0] = disco_reload_acl_item_encode (&acl_plain, NULL);
  seeds[1] = disco_reload_acl_item_encode (&acl, NULL);
  seeds[2] = disco_reload_sip_registration_encode (&sip, NULL);
  seeds[3] = disco_reload_disco_registration_encode (&dr, NULL);
  g_array_unref (sip.destinations);
  disco_reload_disco_registration_clear (&dr);

  for (int which = 0; which < 4; which++)
    for (int round = 0; round < 3000; round++)
      {
        gsize n = g_bytes_get_size (seeds[which]);
        g_autofree guint8 *buf = g_malloc (n + 8);
        g_autoptr (GBytes) out = NULL;
        gboolean accepted;
        guint flips = g_test_rand_int_range (1, 4);

        memcpy (buf, g_bytes_get_data (seeds[which], NULL), n);
        for (guint f = 0; f < flips; f++)
          buf[g_test_rand_int_range (0, (gint32)n)] = (guint8)g_test_rand_int_range (0, 256);
        switch (g_test_rand_int_range (0, 3))
          {
            case 0:
              n = g_test_rand_int_range (0, (gint32)n + 1); /* truncate */
              break;
            case 1:
              buf[n] = (guint8)g_test_rand_int_range (0, 256), n++; /* extend */
              break;
            default:
              break;
          }
        out = reencode (which, buf, n, &accepted);
        if (accepted)
          {
            accepted_total++;
            g_assert_nonnull (out);
            g_assert_cmpmem (g_bytes_get_data (out, NULL), g_bytes_get_size (out), buf, n);
          }
      }
  g_test_message ("%u mutated inputs were accepted (and re-encoded identically)", accepted_total);
  for (int i = 0; i < 4; i++)
    g_bytes_unref (seeds[i]);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  g_test_add_func ("/reload-usages/resource-name-ext", test_name_ext);
  g_test_add_func ("/reload-usages/acl-item", test_acl_item);
  g_test_add_func ("/reload-usages/sip-registration", test_sip_registration);
  g_test_add_func ("/reload-usages/disco-registration", test_disco_registration);
  g_test_add_func ("/reload-usages/mutations", test_mutations);
  return g_test_run ();
}
