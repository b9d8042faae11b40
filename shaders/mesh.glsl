// A textured mesh seen through one of the views: neural / reference / ASTC / split / difference / LOD colours.
// Reference and ASTC are RGBA8 texture arrays with mipmaps (trilinear, REPEAT), four channels of the set per layer
// (one layer for an RGB texture); the neural texture is the network itself, evaluated here for every pixel. All
// three share this vertex path and shading.
//
// The view is compiled in (VIEW, SRC_A, SRC_B, AUTO_LOD, DIFF_HEAT, LIT, MATERIAL, CHANNEL_VIEW): llvmpipe executes
// both sides of a branch under a mask, so a run-time switch would make every pixel pay for every view. Programs are
// cached.
// VIEW: 0 one source (SRC_A), 1 split (SRC_A left of the divider, SRC_B right), 2 difference |A - B|, 3 LOD colours,
// 4 the pixel inspector's probe: (wrapped uv01, mip level lambda, 1) into a float target.
// SRC_*: 0 neural, 1 reference, 2 ASTC.
// NEURAL_FILTER, how the neural source is filtered (the textures always get the GPU's trilinear + anisotropic):
// 0 one evaluation at the pixel's sample position and mip level (the network itself returns the filtered value it
// was trained on), 1 trilinear over the network's own mip levels (its values at the four texel centres around the
// sample in each of the two levels around lambda, blended as a texture unit does: eight evaluations), 2 anisotropic
// (up to ANISO_TAPS one-sample evaluations along the footprint's major axis, the level from the major axis divided by
// the tap count, as GL's anisotropic filtering does), 3 stochastic: one evaluation at a texel centre drawn with the
// trilinear weights around the footprint's minor-axis level (an accumulated frame: the mean over frames is the
// filtered value, and the accumulation's jitter averages along the footprint). u_jitter_px moves the neural sample (and the probe) within the
// pixel's footprint and u_lod_bias shifts its level: frame accumulation (viewer/render/filtering.py).
// MATERIAL 1: the set is a PBR material (trainer/channels.py): CH_BASE, CH_NORMAL, CH_AO, CH_ROUGH, CH_METAL,
// CH_ALPHA, CH_EMISSIVE are its maps' first channels (-1: the set lacks it, shading takes the default). CHANNEL_VIEW
// 0 shades it (metallic-roughness GGX in linear light, tangent-space normal mapping, two lights, an ambient term
// scaled by occlusion), 1 base colour, 2 normal (as a normal map's colours), 3 occlusion, 4 roughness, 5 metallic,
// 6 alpha, 7 emissive.
#version 330 core
#pragma texinr require(HAS_NETWORK, VIEW, SRC_A, SRC_B, AUTO_LOD, DIFF_HEAT, LIT, SET4, MATERIAL, CHANNEL_VIEW)
#pragma texinr require(NEURAL_FILTER, ANISO_TAPS)

#if defined VERTEX_SHADER
uniform mat4 u_T_clip_world;
uniform float u_uv_repeat;  // the texture repeats this many times across the mesh's UV square (1: as authored)
invariant gl_Position;  // bit-identical to the depth pre-pass (depth_only.glsl), so its depth test passes
in vec3 in_position;
in vec3 in_normal;
in vec2 in_uv;
in vec4 in_tangent;
out vec3 v_position_world;
out vec3 v_normal_world;
out vec4 v_tangent_world;
out vec2 v_uv;  // as authored: not wrapped, so its screen derivatives stay smooth across repeats
void main() {
    v_position_world = in_position;
    v_normal_world = in_normal;
    v_tangent_world = in_tangent;
    v_uv = in_uv * u_uv_repeat;
    gl_Position = u_T_clip_world * vec4(in_position, 1.0);
}

#elif defined FRAGMENT_SHADER
#if HAS_NETWORK
#include "include/network.glsl"
#endif
uniform sampler2DArray t_reference;
uniform sampler2DArray t_astc;
uniform float u_divider_px;  // split position in framebuffer pixels from the left
uniform float u_diff_gain;
uniform int u_fixed_level;   // the mip level shown when AUTO_LOD is 0
uniform int u_levels;        // mip levels L of the model (and of the textures' chains shown)
uniform vec2 u_texture_px;   // size of the base level, texels
uniform vec3 u_light_dir_world;     // the single texture's LIT light; a material's first light
uniform vec3 u_light2_dir_world;    // a material's second light
uniform vec2 u_light_intensity;     // the two lights' intensities
uniform float u_ambient;            // the environment term's strength
uniform vec3 u_eye_world;
uniform vec2 u_jitter_px;   // the neural sample's (and the probe's) offset from the pixel centre, in pixels
uniform float u_lod_bias;   // added to the neural sample's mip level
uniform vec3 u_sequence;    // an accumulated frame's point of a low-discrepancy sequence: its stochastic choices
in vec3 v_position_world;
in vec3 v_normal_world;
in vec4 v_tangent_world;
in vec2 v_uv;
out vec4 f_color;

float g_lambda;  // the mip level of this pixel, in [0, L - 1]
vec2 g_duv_dx, g_duv_dy;  // taken in uniform control flow; sampling in branches uses them explicitly
vec2 g_uv;  // the neural sample's position: v_uv moved by u_jitter_px along the pixel's footprint
vec4 g_src[SET4];  // the set's channels from one source, four per vec4

vec4 sample_layer(sampler2DArray image, int layer) {
#if AUTO_LOD
    return textureGrad(image, vec3(v_uv, float(layer)), g_duv_dx, g_duv_dy);
#else
    return textureLod(image, vec3(v_uv, float(layer)), g_lambda);
#endif
}

#if HAS_NETWORK
vec3 hash3(uvec3 v) {  // three uniform numbers in [0, 1) from integers (a PCG-style 3-D hash)
    v = v * 1664525u + 1013904223u;
    v.x += v.y * v.z; v.y += v.z * v.x; v.z += v.x * v.y;
    v ^= v >> 16u;
    v.x += v.y * v.z; v.y += v.z * v.x; v.z += v.x * v.y;
    return vec3(v) * (1.0 / 4294967296.0);
}

float level_t(float lambda) {  // a mip level (continuous) -> the network's t in [0, 1]
    return u_levels > 1 ? clamp(lambda, 0.0, float(u_levels - 1)) / float(u_levels - 1) : 0.0;
}

void neural_filtered() {  // the neural source at this pixel, filtered as NEURAL_FILTER says, into g_src
    vec4 acc[SET4];
    for (int i = 0; i < SET4; ++i) acc[i] = vec4(0.0);
    float top = float(max(u_levels - 1, 0));
#if NEURAL_FILTER == 0
    neural_eval(g_uv, level_t(g_lambda + u_lod_bias));
    for (int i = 0; i < SET4; ++i) acc[i] = g_out[i];
#elif NEURAL_FILTER == 1
    float lam = clamp(g_lambda + u_lod_bias, 0.0, top);
    int k0 = int(floor(lam));
    float fl = lam - float(k0);
    for (int j = 0; j < 2; ++j) {
        float wl = j == 0 ? 1.0 - fl : fl;
        if (wl <= 0.0) continue;
        float k = min(float(k0 + j), top);
        vec2 size = max(floor(u_texture_px / exp2(k)), vec2(1.0));  // level k: max(1, side >> k) texels
        vec2 x = g_uv * size - 0.5;
        vec2 x0 = floor(x);
        vec2 f = x - x0;
        for (int c = 0; c < 4; ++c) {
            vec2 o = vec2(c & 1, c >> 1);
            float w = wl * mix(1.0 - f.x, f.x, o.x) * mix(1.0 - f.y, f.y, o.y);
            neural_eval((x0 + o + 0.5) / size, level_t(k));
            for (int i = 0; i < SET4; ++i) acc[i] += w * g_out[i];
        }
    }
#elif NEURAL_FILTER == 3
    // stochastic texture filtering: one texel centre of one of the two levels around the footprint's minor-axis
    // level, drawn with the trilinear weights as probabilities (u_sequence rotated per pixel), so that the mean
    // over frames is the trilinear value of the network's own mips, and the network is only asked at texel centres
    vec2 ax = g_duv_dx * u_texture_px, ay = g_duv_dy * u_texture_px;  // the footprint's axes, in texels
    float px = length(ax), py = length(ay);
    float lam = log2(max(max(min(px, py), max(px, py) / float(ANISO_TAPS)), 1e-8)) + u_lod_bias;
    lam = clamp(lam, 0.0, top);
    // the frame's point of a 3-D low-discrepancy sequence, rotated per pixel (Cranley-Patterson): over N frames each
    // pixel's choices are stratified, so the mean converges far faster than with independent draws
    vec3 r = fract(hash3(uvec3(uvec2(gl_FragCoord.xy), 0u)) + u_sequence);
    float k = min(floor(lam) + (r.z < fract(lam) ? 1.0 : 0.0), top);
    vec2 size = max(floor(u_texture_px / exp2(k)), vec2(1.0));
    vec2 x = g_uv * size - 0.5;
    vec2 x0 = floor(x);
    vec2 pick = x0 + step(r.xy, x - x0);  // x0 + 1 with probability fract(x)
    neural_eval((pick + 0.5) / size, level_t(k));
    for (int i = 0; i < SET4; ++i) acc[i] = g_out[i];
#else
    vec2 ax = g_duv_dx * u_texture_px, ay = g_duv_dy * u_texture_px;  // the footprint's axes, in texels
    float px = length(ax), py = length(ay);
    float pmax = max(px, py), pmin = max(min(px, py), 1e-8);
    int n = int(min(ceil(pmax / pmin - 1e-3), float(ANISO_TAPS)));
    n = max(n, 1);
    float lam = log2(max(pmax / float(n), 1e-8)) + u_lod_bias;
    vec2 major = px >= py ? g_duv_dx : g_duv_dy;
    for (int s = 0; s < n; ++s) {
        neural_eval(g_uv + major * ((float(s) + 0.5) / float(n) - 0.5), level_t(lam));
        for (int i = 0; i < SET4; ++i) acc[i] += g_out[i] / float(n);
    }
#endif
    for (int i = 0; i < SET4; ++i) g_src[i] = acc[i];
}
#endif

void fetch(int which) {
    if (which == 1) {
        for (int i = 0; i < SET4; ++i) g_src[i] = sample_layer(t_reference, i);
    } else if (which == 2) {
        for (int i = 0; i < SET4; ++i) g_src[i] = sample_layer(t_astc, i);
    } else {
#if HAS_NETWORK
        neural_filtered();
#else
        for (int i = 0; i < SET4; ++i) g_src[i] = vec4(1.0, 0.0, 1.0, 1.0);  // no model loaded: magenta
#endif
    }
}

float ch(int i) {
    return g_src[i >> 2][i & 3];
}

vec3 ch3(int i) {
    return vec3(ch(i), ch(i + 1), ch(i + 2));
}

#if MATERIAL
#pragma texinr require(CH_BASE, CH_NORMAL, CH_AO, CH_ROUGH, CH_METAL, CH_ALPHA, CH_EMISSIVE)
vec3 srgb_to_linear(vec3 c) {
    return mix(c / 12.92, pow((c + 0.055) / 1.055, vec3(2.4)), step(0.04045, c));
}

vec3 linear_to_srgb(vec3 c) {
    c = clamp(c, 0.0, 1.0);
    return mix(c * 12.92, 1.055 * pow(c, vec3(1.0 / 2.4)) - 0.055, step(0.0031308, c));
}

vec3 normal_ts() {  // the tangent-space normal: x, y decoded, z reconstructed (as trainer/channels.py does)
#if CH_NORMAL >= 0
    vec2 xy = vec2(ch(CH_NORMAL), ch(CH_NORMAL + 1)) * 2.0 - 1.0;
    return normalize(vec3(xy, sqrt(max(0.0, 1.0 - dot(xy, xy)))));
#else
    return vec3(0.0, 0.0, 1.0);
#endif
}

float map_or(int c, float fallback) {  // c: a CH_* define, -1 when the set lacks the map
    return c >= 0 ? ch(max(c, 0)) : fallback;
}

vec3 base_colour_srgb() {
#if CH_BASE >= 0
    return ch3(CH_BASE);
#else
    return vec3(0.8);
#endif
}

const float PI = 3.14159265358979;

vec3 light_term(vec3 n, vec3 v, vec3 l, vec3 base, float rough, float metal) {
    vec3 h = normalize(v + l);
    float ndl = max(dot(n, l), 0.0), ndv = max(dot(n, v), 1e-4), ndh = max(dot(n, h), 0.0);
    float a = max(rough * rough, 2e-3);  // GGX alpha = perceptual roughness squared
    float a2 = a * a;
    float d = a2 / (PI * pow(ndh * ndh * (a2 - 1.0) + 1.0, 2.0));
    float k = (rough + 1.0) * (rough + 1.0) / 8.0;  // Schlick-GGX geometry term for direct light
    float g = (ndv / (ndv * (1.0 - k) + k)) * (ndl / (ndl * (1.0 - k) + k));
    vec3 f0 = mix(vec3(0.04), base, metal);
    vec3 f = f0 + (1.0 - f0) * pow(1.0 - max(dot(h, v), 0.0), 5.0);
    vec3 spec = d * g * f / (4.0 * ndv * max(ndl, 1e-4));
    vec3 diffuse = (1.0 - f) * (1.0 - metal) * base / PI;
    return (diffuse + spec) * ndl;
}

vec3 shade() {
    vec3 base = srgb_to_linear(base_colour_srgb());
    float ao = map_or(CH_AO, 1.0), rough = clamp(map_or(CH_ROUGH, 0.5), 0.0, 1.0);
    float metal = clamp(map_or(CH_METAL, 0.0), 0.0, 1.0);
    vec3 ng = normalize(v_normal_world);
    if (!gl_FrontFacing) ng = -ng;  // double-sided, as glTF models often are
    vec3 t = normalize(v_tangent_world.xyz - ng * dot(ng, v_tangent_world.xyz));
    vec3 b = cross(ng, t) * (v_tangent_world.w < 0.0 ? -1.0 : 1.0);
    vec3 nt = normal_ts();
    vec3 n = normalize(t * nt.x + b * nt.y + ng * nt.z);
    vec3 v = normalize(u_eye_world - v_position_world);
    vec3 radiance = vec3(0.0);
    radiance += u_light_intensity.x * light_term(n, v, normalize(u_light_dir_world), base, rough, metal);
    radiance += u_light_intensity.y * light_term(n, v, normalize(u_light2_dir_world), base, rough, metal);
    // environment: a sky-to-ground gradient, diffuse plus a roughness-faded specular share, times occlusion
    vec3 env = mix(vec3(0.30, 0.28, 0.26), vec3(0.75, 0.82, 0.95), 0.5 + 0.5 * n.y);
    vec3 f0 = mix(vec3(0.04), base, metal);
    float ndv = max(dot(n, v), 0.0);
    vec3 fr = f0 + (max(vec3(1.0 - rough), f0) - f0) * pow(1.0 - ndv, 5.0);
    vec3 ambient = env * ((1.0 - metal) * base * (1.0 - fr) + fr * (1.0 - 0.7 * rough));
    radiance += u_ambient * ao * ambient;
#if CH_EMISSIVE >= 0
    radiance += srgb_to_linear(ch3(CH_EMISSIVE));
#endif
    return linear_to_srgb(radiance / (1.0 + radiance * 0.15));  // a gentle shoulder, then sRGB for display
}

vec3 material_view() {
#if CHANNEL_VIEW == 0
    return shade();
#elif CHANNEL_VIEW == 1
    return base_colour_srgb();
#elif CHANNEL_VIEW == 2
    return normal_ts() * 0.5 + 0.5;
#elif CHANNEL_VIEW == 3
    return vec3(map_or(CH_AO, 1.0));
#elif CHANNEL_VIEW == 4
    return vec3(map_or(CH_ROUGH, 0.5));
#elif CHANNEL_VIEW == 5
    return vec3(map_or(CH_METAL, 0.0));
#elif CHANNEL_VIEW == 6
    return vec3(map_or(CH_ALPHA, 1.0));
#elif CH_EMISSIVE >= 0
    return ch3(CH_EMISSIVE);
#else
    return vec3(0.0);
#endif
}
#endif

vec3 source(int which) {  // what a source shows: its colour, or its material shaded / one of its maps
    fetch(which);
#if MATERIAL
    return material_view();
#else
    return g_src[0].rgb;
#endif
}

vec3 heat(float x) {  // black -> purple -> orange -> yellow (magma-like), x in [0, 1]
    x = clamp(x, 0.0, 1.0);
    return clamp(vec3(1.5 * x + 0.05, x * x * 1.2, 0.45 * sin(3.14159 * x) + 0.1 * x), 0.0, 1.0);
}

vec3 level_colour(float lambda) {
    const vec3 c[6] = vec3[](vec3(0.9, 0.1, 0.1), vec3(0.95, 0.6, 0.1), vec3(0.9, 0.9, 0.1),
                             vec3(0.2, 0.8, 0.2), vec3(0.1, 0.6, 0.95), vec3(0.6, 0.2, 0.9));
    int i = int(floor(lambda));
    return mix(c[i % 6], c[(i + 1) % 6], fract(lambda));
}

void main() {
    // hardware mip selection: lambda = log2 of the larger screen-space texel footprint (docs/ARCHITECTURE.md)
    g_duv_dx = dFdx(v_uv);
    g_duv_dy = dFdy(v_uv);
    g_uv = v_uv + g_duv_dx * u_jitter_px.x + g_duv_dy * u_jitter_px.y;
    float footprint = max(length(g_duv_dx * u_texture_px), length(g_duv_dy * u_texture_px));
    float top = float(max(u_levels - 1, 0));
#if AUTO_LOD
    g_lambda = clamp(log2(max(footprint, 1e-8)), 0.0, top);
#else
    g_lambda = clamp(float(u_fixed_level), 0.0, top);
#endif
#if VIEW == 0
    vec3 rgb = source(SRC_A);
#elif VIEW == 1
    vec3 rgb = gl_FragCoord.x < u_divider_px ? source(SRC_A) : source(SRC_B);
#elif VIEW == 2
    vec3 d = abs(source(SRC_A) - source(SRC_B));
#if DIFF_HEAT
    vec3 rgb = heat((d.r + d.g + d.b) / 3.0 * u_diff_gain);
#else
    vec3 rgb = min(d * u_diff_gain, vec3(1.0));
#endif
#elif VIEW == 3
    vec3 rgb = level_colour(g_lambda);
#else
    vec3 rgb = vec3(fract(g_uv), g_lambda);
#endif
#if LIT && VIEW <= 1 && !MATERIAL
    float ndl = max(dot(normalize(v_normal_world), normalize(u_light_dir_world)), 0.0);
    rgb *= 0.3 + 0.7 * ndl;
#endif
#if VIEW == 1
    if (abs(gl_FragCoord.x - u_divider_px) < 1.0) rgb = vec3(0.95);  // the divider, two pixels wide
#endif
    f_color = vec4(rgb, 1.0);
}
#endif
