/* disco-vivaldi.h: Vivaldi network coordinates (Dabek et al., SIGCOMM 2004)
 * for proximity-aware focus selection (disco.md §7, vivaldi.md).
 *
 * Space: 2-D Euclidean plus a height (the access link every packet pays),
 * so the predicted RTT between two coordinates is ‖x_i − x_j‖ + h_i + h_j,
 * in milliseconds.  Each host moves only its own coordinate, with the
 * adaptive timestep (c_c = c_e = 0.25) weighted by the two error estimates;
 * the error estimate travels with the coordinate.
 *
 * Wire form (the opaque coordinate of the DisCo-Registration and of
 * <dc:coordinates>): type byte 1 (Vivaldi; 2 is reserved for landmark RTT
 * vectors), version byte 1, dimension count (2), then IEEE-754 float32 in
 * network byte order for each dimension, the height and the error: 19 bytes.
 * Decoding is strict: any other length, type, version or dimension count,
 * and non-finite or out-of-range values, are refused with a GError.
 *
 * Threading: none; a DiscoVivaldi belongs to one thread.
 * Ownership: DiscoVivaldi is a plain struct, _free; DiscoVivaldiCoord is a
 * value type; encode returns a new GBytes.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define DISCO_VIVALDI_DIMS 2
#define DISCO_VIVALDI_TYPE 1
#define DISCO_VIVALDI_VERSION 1
#define DISCO_VIVALDI_ENCODED_SIZE (3 + 4 * (DISCO_VIVALDI_DIMS + 2))
/* Error estimate of a host that has not measured anything yet (the cap). */
#define DISCO_VIVALDI_MAX_ERROR 1.5
/* Heights stay at least this (ms): a zero height can never grow back. */
#define DISCO_VIVALDI_MIN_HEIGHT 0.01
/* Coordinates and RTTs beyond this (ms) are refused as nonsense. */
#define DISCO_VIVALDI_MAX_MS 1.0e6

#define DISCO_VIVALDI_ERROR (disco_vivaldi_error_quark ())
GQuark disco_vivaldi_error_quark (void);

typedef enum
{
  DISCO_VIVALDI_ERROR_TRUNCATED, /* shorter or longer than its header says */
  DISCO_VIVALDI_ERROR_TYPE,      /* not a Vivaldi coordinate */
  DISCO_VIVALDI_ERROR_VERSION,   /* unknown version or dimension count */
  DISCO_VIVALDI_ERROR_VALUE,     /* NaN, infinite, negative height/error, out of range */
} DiscoVivaldiError;

typedef struct
{
  double vec[DISCO_VIVALDI_DIMS];
  double height;
  double error; /* relative error estimate, 0..DISCO_VIVALDI_MAX_ERROR */
} DiscoVivaldiCoord;

typedef struct _DiscoVivaldi DiscoVivaldi;

/* A host at the origin with the maximum error.  @seed drives the random
 * directions used when two coordinates coincide (tests pass a fixed one). */
DiscoVivaldi *disco_vivaldi_new (guint32 seed);
void disco_vivaldi_free (DiscoVivaldi *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (DiscoVivaldi, disco_vivaldi_free)

/* This host's current coordinate (borrowed, valid until the next observe). */
const DiscoVivaldiCoord *disco_vivaldi_get (DiscoVivaldi *v);
/* Number of samples applied so far. */
guint disco_vivaldi_updates (DiscoVivaldi *v);

/* One RTT sample @rtt_ms to a host at @remote.  With @peer non-NULL the
 * update uses the median of that peer's last three samples, so a single
 * delayed answer does not throw the coordinate off.  Refuses (GError,
 * coordinate unchanged) a non-finite or non-positive RTT and an invalid
 * @remote. */
gboolean disco_vivaldi_observe (DiscoVivaldi *v, const char *peer, double rtt_ms,
                                const DiscoVivaldiCoord *remote, GError **error);

/* Predicted RTT (ms) between two coordinates. */
double disco_vivaldi_predict (const DiscoVivaldiCoord *a, const DiscoVivaldiCoord *b);

/* FALSE (with @error) if @c has a non-finite or out-of-range field. */
gboolean disco_vivaldi_coord_valid (const DiscoVivaldiCoord *c, GError **error);

/* The 19-byte wire form of @c. */
GBytes *disco_vivaldi_encode (const DiscoVivaldiCoord *c);
gboolean disco_vivaldi_decode (const guint8 *data, gsize len, DiscoVivaldiCoord *out,
                               GError **error);

G_END_DECLS
