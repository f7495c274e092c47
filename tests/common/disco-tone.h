/* disco-tone.h: measure how much of one frequency a block of S16 samples holds
 * (Goertzel), so media tests can check which voices a mix contains.
 *
 * Shared by the mixer and room tests.  Link with `disco_tone_dep` (declared in
 * tests/pipelines/mixer/meson.build).
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Mean-square power, in sample units squared, of the component of @samples
 * (mono, @n samples at @rate Hz) at @freq Hz.  A sine of amplitude A at @freq
 * yields about A*A/2; silence yields 0.  For a clean separation pick @n so the
 * block holds a whole number of periods of every frequency involved (e.g.
 * 4800 samples at 48 kHz for multiples of 10 Hz).  Returns 0 for @n == 0 or a
 * @freq outside (0, @rate/2). */
double disco_tone_power (const gint16 *samples, gsize n, guint rate, double freq);

G_END_DECLS
