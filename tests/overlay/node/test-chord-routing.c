/* test-chord-routing.c: bad routing input against a CHORD-RELOAD ring of
 * three in-process peers (real TLS links on loopback) and a client linked
 * to one of them: a request whose via list already names the peer it
 * reaches is dropped there and changes nothing; a Node-ID that is nobody
 * gets Error_Not_Found from the peer responsible for it; a TTL of 0 at a
 * forwarding peer gets Error_TTL_Exceeded; afterwards the routing tables
 * are unchanged and ordinary Fetches still reach the responsible peer. */
#include <gio/gio.h>
#include <json-c/json.h>
#include <string.h>

#include "disco-chord.h"
#include "node-test-util.h"
#include "reload-node.h"
#include "reload-usages.h"

#define PEERS 3

typedef struct
{
  DiscoReloadNode *peers[PEERS];
} Ring;

/* Every peer joined and knows the other two as successors. */
static gboolean
ring_ready (gpointer data)
{
  Ring *ring = data;
  for (guint i = 0; i < PEERS; i++)
    {
      json_object *o = disco_reload_node_chord_to_json (ring->peers[i]), *v = NULL;
      gboolean ok = json_object_object_get_ex (o, "joined", &v) && json_object_get_boolean (v)
                    && json_object_object_get_ex (o, "successors", &v)
                    && json_object_array_length (v) == PEERS - 1;
      json_object_put (o);
      if (!ok)
        return FALSE;
    }
  return TRUE;
}

static char *
table_text (DiscoReloadNode *node)
{
  json_object *o = disco_reload_node_chord_to_json (node), *s = NULL, *p = NULL;
  g_assert_true (json_object_object_get_ex (o, "successors", &s));
  g_assert_true (json_object_object_get_ex (o, "predecessors", &p));
  char *text
      = g_strdup_printf ("%s %s", json_object_to_json_string (s), json_object_to_json_string (p));
  json_object_put (o);
  return text;
}

/* The peer responsible for @rid: the first at or after it on the ring. */
static guint
responsible_for (Ring *ring, const DiscoReloadResourceId *rid)
{
  DiscoReloadNodeId key;
  g_assert_true (disco_chord_id_from_resource (rid, &key));
  guint best = 0;
  DiscoReloadNodeId best_d = { { 0 } };
  for (guint i = 0; i < PEERS; i++)
    {
      DiscoReloadNodeId d;
      disco_chord_id_distance (&key, disco_reload_node_get_node_id (ring->peers[i]), &d);
      if (i == 0 || disco_chord_id_compare (&d, &best_d) < 0)
        {
          best = i;
          best_d = d;
        }
    }
  return best;
}

/* A Resource-ID the client's peer (peers[0]) is not responsible for. */
static void
foreign_resource (Ring *ring, DiscoReloadResourceId *rid, guint *owner)
{
  for (guint n = 0;; n++)
    {
      g_autofree char *name = g_strdup_printf ("resource-%u", n);
      disco_reload_resource_id_from_name ((const guint8 *)name, strlen (name), rid);
      *owner = responsible_for (ring, rid);
      if (*owner != 0)
        return;
    }
}

static DiscoReloadMessage *
fetch_req (DiscoReloadNode *client, const DiscoReloadResourceId *rid)
{
  DiscoReloadDestination d;
  memset (&d, 0, sizeof d);
  disco_reload_destination_set_resource (&d, rid);
  DiscoReloadMessage *req = disco_reload_node_new_request (client, DISCO_RELOAD_FETCH_REQ, &d);
  req->body.fetch_req.resource = *rid;
  g_ptr_array_add (req->body.fetch_req.specifiers,
                   disco_reload_stored_data_specifier_new (DISCO_RELOAD_KIND_CERTIFICATE_BY_USER,
                                                           DISCO_RELOAD_DATA_MODEL_ARRAY));
  return req;
}

/* Counts the Fetches a peer answers (with an empty FetchAns). */
static DiscoReloadMessage *
count_fetch (DiscoReloadNode *node, const DiscoReloadMessage *req, const DiscoReloadSigner *signer,
             DiscoReloadLink *link, gpointer user_data, GError **error)
{
  (*(guint *)user_data)++;
  return disco_reload_message_new (DISCO_RELOAD_FETCH_ANS);
}

static guint64
dropped (DiscoReloadNode *node)
{
  DiscoReloadNodeStats st;
  disco_reload_node_get_stats (node, &st);
  return st.dropped;
}

static void
test_bad_routing (void)
{
  g_autoptr (GError) error = NULL;
  Ring ring;
  DiscoReloadIdentity *ids[PEERS];
  g_autoptr (GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr (GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  for (guint i = 0; i < PEERS; i++)
    {
      g_autofree char *user = g_strdup_printf ("r%u@disco.example.org", i);
      ids[i] = disco_node_test_make_identity (user);
      DiscoReloadNodeSettings s
          = { .identity = ids[i], .chord = TRUE, .chord_first = i == 0, .stabilize_ms = 200 };
      ring.peers[i] = disco_reload_node_new (&s, &error);
      g_assert_no_error (error);
      g_assert_true (disco_reload_node_listen (ring.peers[i], G_INET_SOCKET_ADDRESS (any),
                                               DISCO_RELOAD_LINK_TLS, &error));
    }
  for (guint i = 1; i < PEERS; i++)
    disco_node_test_connect (ring.peers[i], ring.peers[0], FALSE);
  disco_node_test_spin_until (ring_ready, &ring);
  guint fetches[PEERS] = { 0 };
  for (guint i = 0; i < PEERS; i++)
    disco_reload_node_set_handler (ring.peers[i], DISCO_RELOAD_FETCH_REQ, count_fetch, &fetches[i]);

  g_autoptr (DiscoReloadIdentity) cid = disco_node_test_make_identity ("client@disco.example.org");
  g_autoptr (DiscoReloadConfig) cconfig = disco_reload_config_new_default ();
  cconfig->overlay_reliability_timer = 200; /* a dropped request fails fast */
  DiscoReloadNodeSettings cs = { .identity = cid, .config = cconfig, .client = TRUE };
  g_autoptr (DiscoReloadNode) client = disco_reload_node_new (&cs, &error);
  g_assert_no_error (error);
  disco_node_test_connect (client, ring.peers[0], FALSE);

  char *tables[PEERS];
  for (guint i = 0; i < PEERS; i++)
    tables[i] = table_text (ring.peers[i]);

  DiscoReloadResourceId rid;
  guint owner;
  foreign_resource (&ring, &rid, &owner);

  /* An ordinary Fetch is forwarded by peers[0] and answered by the owner. */
  g_autoptr (DiscoReloadMessage) ok
      = disco_node_test_request (client, fetch_req (client, &rid), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ok->message_code, ==, DISCO_RELOAD_FETCH_ANS);
  for (guint i = 0; i < PEERS; i++)
    g_assert_cmpuint (fetches[i], ==, i == owner ? 1 : 0);

  /* A via list that already names the owner: it has seen this request,
   * so it is not answered there (a loop), only counted as dropped. */
  guint64 drops = dropped (ring.peers[owner]);
  DiscoReloadMessage *loop = fetch_req (client, &rid);
  DiscoReloadDestination v;
  memset (&v, 0, sizeof v);
  disco_reload_destination_set_node (&v, disco_reload_node_get_node_id (ring.peers[owner]));
  g_array_append_val (loop->header.via_list, v);
  g_autoptr (DiscoReloadMessage) la = disco_node_test_request (client, loop, &error);
  /* The owner's Error_Loop_Detected follows the reversed via list, which
   * ends at the forged entry behind the client, so the client may see
   * nothing: only the drop count and the handlers tell. */
  if (la)
    g_assert_cmpuint (la->message_code, ==, DISCO_RELOAD_ERROR);
  g_clear_error (&error);
  g_assert_cmpuint (dropped (ring.peers[owner]), >, drops);
  for (guint i = 0; i < PEERS; i++)
    g_assert_cmpuint (fetches[i], ==, i == owner ? 1 : 0);

  /* A Node-ID nobody has: the peer responsible for it says Not_Found. */
  DiscoReloadNodeId nobody = *disco_reload_node_get_node_id (ring.peers[owner]);
  nobody.id[DISCO_RELOAD_NODE_ID_LENGTH - 1] ^= 1;
  DiscoReloadDestination nd;
  memset (&nd, 0, sizeof nd);
  disco_reload_destination_set_node (&nd, &nobody);
  g_autoptr (DiscoReloadMessage) na = disco_node_test_request (
      client, disco_reload_node_new_request (client, DISCO_RELOAD_PING_REQ, &nd), &error);
  g_assert_null (na);
  g_assert_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* TTL 0 at peers[0], which would have to forward: TTL_Exceeded. */
  DiscoReloadMessage *ttl = fetch_req (client, &rid);
  ttl->header.ttl = 0;
  g_autoptr (DiscoReloadMessage) ta = disco_node_test_request (client, ttl, &error);
  g_assert_null (ta);
  g_assert_error (error, DISCO_RELOAD_NODE_ERROR, DISCO_RELOAD_ERROR_TTL_EXCEEDED);
  g_clear_error (&error);

  /* Nothing of that touched the routing tables; Fetches still work. */
  for (guint i = 0; i < PEERS; i++)
    {
      g_autofree char *now = table_text (ring.peers[i]);
      g_assert_cmpstr (now, ==, tables[i]);
      g_free (tables[i]);
    }
  g_autoptr (DiscoReloadMessage) again
      = disco_node_test_request (client, fetch_req (client, &rid), &error);
  g_assert_no_error (error);
  g_assert_cmpuint (again->message_code, ==, DISCO_RELOAD_FETCH_ANS);
  g_assert_cmpuint (fetches[owner], ==, 2);

  g_clear_pointer (&client, disco_reload_node_free);
  for (guint i = 0; i < PEERS; i++)
    {
      disco_reload_node_free (ring.peers[i]);
      disco_reload_identity_unref (ids[i]);
    }
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  disco_node_test_set_timeout (60);
  g_test_add_func ("/node/chord-routing/bad-input", test_bad_routing);
  return g_test_run ();
}
