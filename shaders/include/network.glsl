// The neural texture: encoding(uv01) [+ t_pm1] -> MLP -> N_OUT channels (rgb, or a material's set) in g_out[],
// exactly as trainer/models.py computes it.
// Layout and defines come from trainer/packing.py (the one module that knows them).
#pragma texinr require(FAMILY, LOD_INPUT, N_ENC, N_IN, MLP_IN4, MLP_HIDDEN4, MLP_DEPTH, ACT_SIREN)
#pragma texinr require(MLP_W0_OFFSET, MLP_B0_OFFSET, MLP_WH_OFFSET, MLP_HIDDEN_STRIDE, MLP_WOUT_OFFSET)
#pragma texinr require(MLP_BOUT_OFFSET, WEIGHTS_TEX_WIDTH, MLP_UNROLLED, N_OUT, MLP_OUT4)

uniform sampler2D t_weights;  // RGBA32F, WEIGHTS_TEX_WIDTH texels wide, addressed by a linear texel index

vec4 w_fetch(int k) {
    return texelFetch(t_weights, ivec2(k % WEIGHTS_TEX_WIDTH, k / WEIGHTS_TEX_WIDTH), 0);
}

// wide MLPs (MLP_UNROLLED 0) read their weights from the texture; small ones are written out with them
// (generated:mlp)
mat4 w_mat(int k) {  // four texels = the four columns of a 4x4 block
    return mat4(w_fetch(k), w_fetch(k + 1), w_fetch(k + 2), w_fetch(k + 3));
}

vec4 g_in[MLP_IN4];
vec4 g_h[MLP_HIDDEN4];
vec4 g_h2[MLP_HIDDEN4];
vec4 g_out[MLP_OUT4];  // the outputs, four channels per vec4 (channels beyond N_OUT are 0)

void set_in(int k, float v) {
    g_in[k >> 2][k & 3] = v;
}

#if defined(FAMILY_RELU) || defined(FAMILY_SIREN)
void encode(vec2 uv01) {
    set_in(0, uv01.x * 2.0 - 1.0);  // xy_pm1
    set_in(1, uv01.y * 2.0 - 1.0);
}
#elif defined(FAMILY_FOURIER)
#pragma texinr require(FOURIER_OFFSET, N_FREQS)
void encode(vec2 uv01) {
    set_in(0, uv01.x);
    set_in(1, uv01.y);
    for (int i = 0; i < N_FREQS; ++i) {
        float phase = 6.283185307179586 * dot(uv01, w_fetch(FOURIER_OFFSET + i).xy);
        set_in(2 + i, sin(phase));
        set_in(2 + N_FREQS + i, cos(phase));
    }
}
#elif defined(FAMILY_HASHGRID)
#pragma texinr require(HASH_LEVELS, HASH_FEATURES, HASH_TEXELS_PER_ENTRY, HASH_RES, HASH_OFFSET, HASH_DENSE)
#pragma texinr require(HASH_TABLE_MASK)
const int c_res[HASH_LEVELS] = HASH_RES;
const int c_offset[HASH_LEVELS] = HASH_OFFSET;
const int c_dense[HASH_LEVELS] = HASH_DENSE;

int vertex_index(int lvl, ivec2 p) {
    if (c_dense[lvl] != 0) return p.x + p.y * (c_res[lvl] + 1);
    // uint arithmetic wraps mod 2^32; the table size is a power of two, so the low bits match torch's int64
    return int((uint(p.x) ^ (uint(p.y) * 2654435761u)) & uint(HASH_TABLE_MASK));
}

vec4 entry(int lvl, int idx, int part) {
    return w_fetch(c_offset[lvl] + idx * HASH_TEXELS_PER_ENTRY + part);
}

void encode(vec2 uv01) {
    for (int lvl = 0; lvl < HASH_LEVELS; ++lvl) {
        float res = float(c_res[lvl]);
        vec2 p = uv01 * res;
        vec2 p0 = clamp(floor(p), 0.0, res - 1.0);
        vec2 f = p - p0;
        ivec2 i0 = ivec2(p0);
        int i00 = vertex_index(lvl, i0), i10 = vertex_index(lvl, i0 + ivec2(1, 0));
        int i01 = vertex_index(lvl, i0 + ivec2(0, 1)), i11 = vertex_index(lvl, i0 + ivec2(1, 1));
        for (int part = 0; part < HASH_TEXELS_PER_ENTRY; ++part) {
            vec4 v = entry(lvl, i00, part) * ((1.0 - f.x) * (1.0 - f.y)) + entry(lvl, i10, part) * (f.x * (1.0 - f.y))
                   + entry(lvl, i01, part) * ((1.0 - f.x) * f.y) + entry(lvl, i11, part) * (f.x * f.y);
            for (int c = 0; c < 4; ++c) {
                int ch = part * 4 + c;
                if (ch < HASH_FEATURES) set_in(lvl * HASH_FEATURES + ch, v[c]);
            }
        }
    }
}
#elif defined(FAMILY_GRID)
#pragma texinr require(GRID_LEVELS, GRID_FEATURES, GRID_TEXELS_PER_ENTRY, GRID_RES, GRID_OFFSET)
const int c_res[GRID_LEVELS] = GRID_RES;
const int c_offset[GRID_LEVELS] = GRID_OFFSET;

vec4 vertex(int lvl, ivec2 p, int part) {  // vertex (i, j) is entry j * (res + 1) + i
    return w_fetch(c_offset[lvl] + (p.y * (c_res[lvl] + 1) + p.x) * GRID_TEXELS_PER_ENTRY + part);
}

void encode(vec2 uv01) {
    for (int lvl = 0; lvl < GRID_LEVELS; ++lvl) {
        float res = float(c_res[lvl]);
        vec2 p = uv01 * res;
        vec2 p0 = clamp(floor(p), 0.0, res - 1.0);
        vec2 f = p - p0;
        ivec2 i0 = ivec2(p0);
        for (int part = 0; part < GRID_TEXELS_PER_ENTRY; ++part) {
            vec4 v = mix(mix(vertex(lvl, i0, part), vertex(lvl, i0 + ivec2(1, 0), part), f.x),
                         mix(vertex(lvl, i0 + ivec2(0, 1), part), vertex(lvl, i0 + ivec2(1, 1), part), f.x), f.y);
            for (int c = 0; c < 4; ++c) {
                int ch = part * 4 + c;
                if (ch < GRID_FEATURES) set_in(lvl * GRID_FEATURES + ch, v[c]);
            }
        }
    }
}
#elif defined(FAMILY_CODEC)
// Written out per grid by trainer/packing.py (codec_encode_glsl) with every offset and resolution a constant:
// the integer codes of the four vertices around uv are bilinearly interpolated (one filtered fetch) and dequantised,
// v = q * 2 / (2^B - 1) - 1 (affine, so the same as interpolating dequantised values), then the positional
// encoding (sin x, sin y, cos x, cos y per octave) follows.
#pragma texinr require(CODEC_LEVELS, CODEC_PE, CODEC_PE_RES, CODEC_ATLAS_W, CODEC_ATLAS_H)
uniform sampler2D t_latents;  // the code atlas (RGBA32F, bilinear, no mipmaps): trainer/packing.py _atlas
#include "generated:codec_encode"
void encode(vec2 uv01) {
    codec_encode(uv01);
}
#else
#error "unknown FAMILY"
#endif

vec4 activation(vec4 x) {
#if ACT_SIREN
    return sin(OMEGA0 * x);
#else
    return max(x, vec4(0.0));
#endif
}

#if MLP_UNROLLED
#include "generated:mlp"
#endif

// (u, v) anywhere (repeats), t in [0, 1] -> g_out[] in [0, 1]
void neural_eval(vec2 uv, float t) {
    for (int i = 0; i < MLP_IN4; ++i) g_in[i] = vec4(0.0);
    encode(fract(uv));
#if LOD_INPUT
    set_in(N_ENC, t * 2.0 - 1.0);
#endif
#if MLP_UNROLLED
    mlp_unrolled();
#else
    for (int o = 0; o < MLP_HIDDEN4; ++o) {
        vec4 acc = w_fetch(MLP_B0_OFFSET + o);
        for (int i = 0; i < MLP_IN4; ++i) acc += w_mat(MLP_W0_OFFSET + (o * MLP_IN4 + i) * 4) * g_in[i];
        g_h[o] = activation(acc);
    }
    for (int l = 1; l < MLP_DEPTH; ++l) {
        int base = MLP_WH_OFFSET + (l - 1) * MLP_HIDDEN_STRIDE;
        for (int o = 0; o < MLP_HIDDEN4; ++o) {
            vec4 acc = w_fetch(base + MLP_HIDDEN4 * MLP_HIDDEN4 * 4 + o);
            for (int i = 0; i < MLP_HIDDEN4; ++i) acc += w_mat(base + (o * MLP_HIDDEN4 + i) * 4) * g_h[i];
            g_h2[o] = activation(acc);
        }
        for (int o = 0; o < MLP_HIDDEN4; ++o) g_h[o] = g_h2[o];
    }
    for (int o = 0; o < MLP_OUT4; ++o) {
        vec4 acc = w_fetch(MLP_BOUT_OFFSET + o);
        for (int i = 0; i < MLP_HIDDEN4; ++i) acc += w_mat(MLP_WOUT_OFFSET + (o * MLP_HIDDEN4 + i) * 4) * g_h[i];
        g_out[o] = acc;
    }
#endif
    for (int o = 0; o < MLP_OUT4; ++o) g_out[o] = clamp(g_out[o], 0.0, 1.0);
}

// the first three channels (the colour of one texture, a material's base colour)
vec3 neural_rgb(vec2 uv, float t) {
    neural_eval(uv, t);
    return g_out[0].rgb;
}
