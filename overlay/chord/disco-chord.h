/* disco-chord.h: CHORD-RELOAD routing state (RFC 6940 §10).
 *
 * DiscoChordTable is the topology plugin's view of the ring from one peer:
 * its successor and predecessor sets (3 each by default), a finger table of
 * 128 entries, and every other peer it has a link to.  It is pure state: it
 * sends nothing and owns no sockets.  The node feeds it peers as links come
 * and go and as Update messages arrive, and asks it where to send a message
 * and whether a Resource-ID is its own.
 *
 * Identifiers are 128-bit and compared as unsigned big-endian integers on a
 * ring of size 2^128.
 *
 * Ownership: the table copies every Node-ID it is given; returned Node-IDs
 * point into the table and stay valid until the next call that changes it.
 * Not thread-safe: use it from the main thread.
 */
#pragma once

#include <glib.h>
#include <json-c/json.h>

#include "reload-cert.h" /* disco_reload_node_id_to_hex() and friends */
#include "reload-wire.h"

G_BEGIN_DECLS

#define DISCO_CHORD_NEIGHBORS 3
#define DISCO_CHORD_FINGERS 128

/* ---- 128-bit identifier arithmetic ---------------------------------------- */

/* -1, 0, 1 as unsigned big-endian integers. */
int disco_chord_id_compare (const DiscoReloadNodeId *a, const DiscoReloadNodeId *b);

/* TRUE when @x lies in the half-open ring interval (@from, @to].  When @from
 * equals @to the interval is the whole ring. */
gboolean disco_chord_id_in_range (const DiscoReloadNodeId *x, const DiscoReloadNodeId *from,
                                  const DiscoReloadNodeId *to);

/* Clockwise distance from @a to @b, (b - a) mod 2^128, into @out. */
void disco_chord_id_distance (const DiscoReloadNodeId *a, const DiscoReloadNodeId *b,
                              DiscoReloadNodeId *out);

/* @id + 2^@exponent mod 2^128 (0 <= exponent < 128), into @out. */
void disco_chord_id_add_pow2 (const DiscoReloadNodeId *id, guint exponent, DiscoReloadNodeId *out);

/* The Node-ID form of a 16-byte Resource-ID; FALSE if it is not 16 bytes. */
gboolean disco_chord_id_from_resource (const DiscoReloadResourceId *rid, DiscoReloadNodeId *out);

/* ---- routing table -------------------------------------------------------- */

typedef struct _DiscoChordTable DiscoChordTable;

/* What a change did, so the node can react (replicate, send Updates). */
typedef enum
{
  DISCO_CHORD_CHANGED_NONE = 0,
  DISCO_CHORD_CHANGED_SUCCESSORS = 1 << 0,
  DISCO_CHORD_CHANGED_PREDECESSORS = 1 << 1,
  DISCO_CHORD_CHANGED_FINGERS = 1 << 2,
} DiscoChordChange;

DiscoChordTable *disco_chord_table_new (const DiscoReloadNodeId *self);
DiscoChordTable *disco_chord_table_ref (DiscoChordTable *table);
void disco_chord_table_unref (DiscoChordTable *table);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoChordTable, disco_chord_table_unref)

const DiscoReloadNodeId *disco_chord_table_get_self (DiscoChordTable *table);

/* A peer we have a working link to.  Refuses (returns NONE) our own ID, the
 * all-zero invalid ID and the wildcard. */
DiscoChordChange disco_chord_table_add_peer (DiscoChordTable *table, const DiscoReloadNodeId *peer);

/* A peer whose link failed or that left. */
DiscoChordChange disco_chord_table_remove_peer (DiscoChordTable *table,
                                                const DiscoReloadNodeId *peer);

gboolean disco_chord_table_has_peer (DiscoChordTable *table, const DiscoReloadNodeId *peer);
guint disco_chord_table_peer_count (DiscoChordTable *table);

/* Successors in ring order (closest first); at most DISCO_CHORD_NEIGHBORS.
 * Returns the count and sets @out to an internal array. */
guint disco_chord_table_get_successors (DiscoChordTable *table, const DiscoReloadNodeId **out);
guint disco_chord_table_get_predecessors (DiscoChordTable *table, const DiscoReloadNodeId **out);

/* Finger i (0..127) is the first known peer at or after self + 2^(127 - i)
 * (RFC 6940 §10.3 counts them 1..128 from the far side of the ring).  NULL
 * when no peer is known. */
const DiscoReloadNodeId *disco_chord_table_get_finger (DiscoChordTable *table, guint i);

/* The ID finger i should point at; used to repair fingers with RouteQuery. */
void disco_chord_table_finger_target (DiscoChordTable *table, guint i, DiscoReloadNodeId *out);

/* Number of distinct peers in the finger table. */
guint disco_chord_table_distinct_fingers (DiscoChordTable *table);

/* TRUE when @id is in (first predecessor, self], or when we know no peer. */
gboolean disco_chord_table_is_responsible (DiscoChordTable *table, const DiscoReloadNodeId *id);

/* The peer to forward a message for @dest to, or NULL when we are
 * responsible.  Greedy Chord: the successor if @dest is in (self, succ],
 * else the known peer closest before @dest. */
const DiscoReloadNodeId *disco_chord_table_next_hop (DiscoChordTable *table,
                                                     const DiscoReloadNodeId *dest);

/* Appends to @out (DiscoReloadNodeId) every peer a message for @dest may
 * take, best first: the next_hop() choice, then the other known peers
 * that precede @dest, in decreasing progress.  Used to route around a
 * hop that is gone or that the message came from.  Returns how many were
 * appended (0 when we are responsible). */
guint disco_chord_table_next_hops (DiscoChordTable *table, const DiscoReloadNodeId *dest,
                                   GArray *out);

/* The replica set for a resource we are responsible for: our first
 * @count - 1 successors (RFC 6940 §10.4: responsible peer + 2 successors). */
guint disco_chord_table_replica_peers (DiscoChordTable *table, guint count,
                                       const DiscoReloadNodeId **out);

/* Learns peers from a received ChordUpdate.  Only IDs that pass the same
 * checks as add_peer() are taken; junk never corrupts the table.  Peers
 * named in an Update are candidates, not links, so they are reported
 * through @candidates (DiscoReloadNodeId, may be NULL) for the node to
 * Attach to; the table itself only changes through add_peer(). */
void disco_chord_table_collect_update (DiscoChordTable *table, const DiscoReloadChordUpdate *update,
                                       GArray *candidates);

/* Fills @update (type FULL) with our current view; the arrays are created
 * here and freed by the caller's disco_reload_chord_update_clear(). */
void disco_chord_table_fill_update (DiscoChordTable *table, guint32 uptime,
                                    DiscoReloadChordUpdate *update);

/* For the status page: self, predecessors, successors, distinct fingers. */
json_object *disco_chord_table_to_json (DiscoChordTable *table);

G_END_DECLS
