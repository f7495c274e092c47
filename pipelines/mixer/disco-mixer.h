/* disco-mixer.h: the "discomixer" GStreamer element, DisCo's O(N) mix-minus.
 *
 * A GstAudioAggregator subclass.  Every input is summed once per tick into a
 * wide accumulator; the outputs are derived from that one sum:
 *
 *   "src"       (always)  full mix = every participant + every cascade input.
 *                         Feeds the one shared encoder of all non-talking
 *                         listeners of a codec configuration.
 *   "local"     (request) participants only, no cascade input: what a cascade
 *                         leg sends to other foci, so a full mesh of foci
 *                         hears every voice exactly once.
 *   "minus_%u"  (request) full mix minus the own contribution of "sink_%u";
 *                         request it when that participant starts talking,
 *                         release it when they stop.  Request it by its exact
 *                         name ("minus_3" for "sink_3"); sink_%u must exist
 *                         and have no minus pad yet (else NULL); if sink_%u
 *                         goes away later the pad carries the full mix.
 *   At most one "local" exists at a time.  A "local"/"minus" pad requested
 *   while a tick is being mixed starts with the next tick (its first buffer
 *   is never a partial sum, and a minus never echoes its talker).
 *
 * Every output passes the same stateless soft limiter (identity below
 * -6 dBov, a tanh knee above it that never reaches full scale), so several
 * loud talkers never wrap and quiet signals are bit-exact.
 *
 * Format: audio/x-raw, S16LE, interleaved, rate = "rate" property (default
 * 48000), channels = "channels" property (default 1).  Inputs must already be
 * in that format (the room resamples/converts before the mixer).
 * output-buffer-duration defaults to 20 ms.  The inherited aggregator
 * properties (latency, force-live, ignore-inactive-pads, ...) apply.
 *
 * Extra src pads ("local", "minus_%u") get stream-start, caps and segment
 * events and buffers with the same PTS/duration/offset as "src", pushed from
 * the aggregator's streaming thread.  Link each through a queue if its
 * downstream may block (a synchronising sink, a slow encoder).  EOS and
 * flushes on "src" are forwarded to them.
 *
 * Element properties (besides the inherited ones):
 *   "rate" (int, construct/READY), "channels" (int, construct/READY),
 *   "talk-threshold" (double dBov, default -40), "talk-attack" (guint ms,
 *   default 60), "talk-release" (guint ms, default 400),
 *   "ticks" (guint64, read-only), "tick-overruns" (guint64, read-only: live
 *   ticks finished after their deadline, i.e. clock running time past the
 *   buffer's running time + duration + the aggregator latency; always 0 when
 *   not live).  Both are cumulative over the element's lifetime.
 *
 * Sink pad ("sink_%u", DiscoMixerPad) properties:
 *   "kind"    DiscoMixerPadKind, participant (default) or cascade
 *   "gain"    double 0..10, default 1.0
 *   "mute"    gboolean
 *   "level"   double, read-only: RMS of the pad's contribution (after gain
 *             and mute) during the last tick, in dBov (-127 for silence or
 *             no data)
 *   "talking" gboolean, read-only: level >= talk-threshold for talk-attack
 *             ms turns it on, below for talk-release ms turns it off.
 *             Computed for cascade pads too (the message says the kind).
 *   Inherited: "qos-messages" (GstAudioAggregatorPad) posts QoS messages
 *   when late input is dropped, useful to diagnose jitter-buffer latency.
 *
 * Bus: each "talking" change posts an element message whose structure is
 * named DISCO_MIXER_TALKER_MESSAGE ("disco-mixer-talker") with fields
 *   "pad" (string, e.g. "sink_3"), "talking" (gboolean),
 *   "kind" (DiscoMixerPadKind), "level" (double dBov).
 * It is posted from the streaming thread; use a bus sync handler or watch.
 *
 * Pads may be requested and released while PLAYING, from any thread.
 * Releasing a sink pad sets it flushing, which unblocks its upstream's
 * streaming thread; then set that upstream to NULL and remove it (as
 * /mixer/pad-churn in tests/pipelines/mixer/test-mixer.c does).
 */
#pragma once

#include <gst/gst.h>
#include <gst/audio/audio.h>
#include <gst/audio/gstaudioaggregator.h>

G_BEGIN_DECLS

#define DISCO_MIXER_TALKER_MESSAGE "disco-mixer-talker"

typedef enum
{
  DISCO_MIXER_PAD_KIND_PARTICIPANT = 0,
  DISCO_MIXER_PAD_KIND_CASCADE = 1,
} DiscoMixerPadKind;

GType disco_mixer_pad_kind_get_type (void);
#define DISCO_TYPE_MIXER_PAD_KIND (disco_mixer_pad_kind_get_type ())

#define DISCO_TYPE_MIXER_PAD (disco_mixer_pad_get_type ())
G_DECLARE_FINAL_TYPE (DiscoMixerPad, disco_mixer_pad, DISCO, MIXER_PAD, GstAudioAggregatorPad)

#define DISCO_TYPE_MIXER (disco_mixer_get_type ())
G_DECLARE_FINAL_TYPE (DiscoMixer, disco_mixer, DISCO, MIXER, GstAudioAggregator)

/* Registers the "discomixer" element (rank NONE) with the default registry as
 * a static plugin "discomixer".  Safe to call any number of times, from any
 * thread, after gst_init().  Returns FALSE with @error set if registration
 * failed. */
gboolean disco_mixer_plugin_register (GError **error);

G_END_DECLS
