// Which layer a LoRA key names (inference/lora/loraKeys.ts, loraFile.ts planLoraModules), on SD 1.5's real
// architecture. The expected pairs are written from the original SD layout and from key names found in kohya
// sd-scripts and diffusers LoRA files, not derived from the mapping under test.
import { describe, expect, test } from 'vitest';
import { SD15_CONFIG, expectedWeights } from '../../src-main/inference/graph';
import { AddonFormatError } from '../../src-main/inference/lora/errors';
import { planLoraModules } from '../../src-main/inference/lora/loraFile';
import { SDXL_BASE_CONFIG } from '../../src-main/inference/graph/sdxlConfig';
import { loraTargets, sdxlLoraTargets } from '../../src-main/inference/lora/loraKeys';

const targets = loraTargets(SD15_CONFIG);

describe('LoRA module names → SD 1.5 weights', () => {
  test.each([
    // kohya sd-scripts, ldm spelling (what it writes for SDXL and for SD 1.x LoRAs extracted from checkpoints)
    ['lora_unet_input_blocks_1_1_proj_in', 'down_blocks.0.attentions.0.proj_in.weight', [320, 320, 1, 1]],
    [
      'lora_unet_input_blocks_1_1_transformer_blocks_0_attn1_to_q',
      'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.weight',
      [320, 320],
    ],
    [
      'lora_unet_input_blocks_8_1_transformer_blocks_0_attn2_to_k',
      'down_blocks.2.attentions.1.transformer_blocks.0.attn2.to_k.weight',
      [1280, 768],
    ],
    ['lora_unet_input_blocks_3_0_op', 'down_blocks.0.downsamplers.0.conv.weight', [320, 320, 3, 3]],
    ['lora_unet_middle_block_1_transformer_blocks_0_ff_net_2', 'mid_block.attentions.0.transformer_blocks.0.ff.net.2.weight', [1280, 5120]],
    ['lora_unet_middle_block_2_in_layers_2', 'mid_block.resnets.1.conv1.weight', [1280, 1280, 3, 3]],
    [
      'lora_unet_output_blocks_11_1_transformer_blocks_0_attn2_to_out_0',
      'up_blocks.3.attentions.2.transformer_blocks.0.attn2.to_out.0.weight',
      [320, 320],
    ],
    ['lora_unet_output_blocks_2_1_conv', 'up_blocks.0.upsamplers.0.conv.weight', [1280, 1280, 3, 3]],
    ['lora_unet_output_blocks_5_2_conv', 'up_blocks.1.upsamplers.0.conv.weight', [1280, 1280, 3, 3]],
    ['lora_unet_output_blocks_3_0_skip_connection', 'up_blocks.1.resnets.0.conv_shortcut.weight', [1280, 2560, 1, 1]],
    ['lora_unet_time_embed_2', 'time_embedding.linear_2.weight', [1280, 1280]],
    ['lora_unet_input_blocks_0_0', 'conv_in.weight', [320, 4, 3, 3]],
    ['lora_unet_out_2', 'conv_out.weight', [4, 320, 3, 3]],
    // kohya sd-scripts, diffusers spelling (its usual SD 1.x LoRAs)
    ['lora_unet_down_blocks_0_attentions_0_proj_in', 'down_blocks.0.attentions.0.proj_in.weight', [320, 320, 1, 1]],
    [
      'lora_unet_up_blocks_3_attentions_2_transformer_blocks_0_ff_net_0_proj',
      'up_blocks.3.attentions.2.transformer_blocks.0.ff.net.0.proj.weight',
      [2560, 320],
    ],
    ['lora_unet_down_blocks_1_resnets_0_conv_shortcut', 'down_blocks.1.resnets.0.conv_shortcut.weight', [640, 320, 1, 1]],
    ['lora_te_text_model_encoder_layers_0_self_attn_k_proj', 'text_model.encoder.layers.0.self_attn.k_proj.weight', [768, 768]],
    ['lora_te_text_model_encoder_layers_11_mlp_fc2', 'text_model.encoder.layers.11.mlp.fc2.weight', [768, 3072]],
    ['lora_te1_text_model_encoder_layers_5_self_attn_out_proj', 'text_model.encoder.layers.5.self_attn.out_proj.weight', [768, 768]],
    // diffusers attention processors, SimpleTuner's lycoris_, ComfyUI's generic names
    [
      'unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.processor.to_out',
      'down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_out.0.weight',
      [320, 320],
    ],
    [
      'up_blocks.1.attentions.0.transformer_blocks.0.attn2.processor.to_v',
      'up_blocks.1.attentions.0.transformer_blocks.0.attn2.to_v.weight',
      [1280, 768],
    ],
    ['unet.mid_block.attentions.0.proj_out', 'mid_block.attentions.0.proj_out.weight', [1280, 1280, 1, 1]],
    ['lycoris_down_blocks_2_resnets_1_conv2', 'down_blocks.2.resnets.1.conv2.weight', [1280, 1280, 3, 3]],
    ['diffusion_model.output_blocks.8.0.out_layers.3', 'up_blocks.2.resnets.2.conv2.weight', [640, 640, 3, 3]],
    ['text_encoder.text_model.encoder.layers.3.mlp.fc1', 'text_model.encoder.layers.3.mlp.fc1.weight', [3072, 768]],
    [
      'text_encoders.clip_l.transformer.text_model.encoder.layers.3.self_attn.v_proj',
      'text_model.encoder.layers.3.self_attn.v_proj.weight',
      [768, 768],
    ],
  ])('%s → %s', (key, weight, shape) => {
    const component = (weight as string).startsWith('text_model.') ? 'text_encoder' : 'unet';
    expect(targets.get(key)).toEqual({ component, weight, shape });
  });

  test('both kohya spellings reach every UNet weight, and no two weights share a key', () => {
    const unet = expectedWeights(SD15_CONFIG, 'unet').filter((w) => w.name.endsWith('.weight'));
    const reached = (prefix: string): Set<string> =>
      new Set([...targets].filter(([k, t]) => k.startsWith(prefix) && t.component === 'unet').map(([, t]) => t.weight));
    expect(reached('lora_unet_').size).toBe(unet.length);
    expect(reached('diffusion_model.').size).toBe(unet.length);
    // 2 kohya spellings per weight (the ldm and the diffusers one never coincide).
    expect([...targets.keys()].filter((k) => k.startsWith('lora_unet_')).length).toBe(2 * unet.length);
  });

  test('the text encoder: six modules per layer in the kohya, te1 and diffusers spellings', () => {
    const te = (prefix: string): number => [...targets].filter(([k, t]) => k.startsWith(prefix) && t.component === 'text_encoder').length;
    expect(te('lora_te_')).toBe(12 * 6);
    expect(te('lora_te1_')).toBe(12 * 6);
    expect(te('text_encoder.')).toBe(12 * 6);
  });
});

describe('planning a file: every key belongs to a layer, or the file is refused naming it', () => {
  const plan = (keys: string[]): ReturnType<typeof planLoraModules> => planLoraModules('x.safetensors', keys, targets);

  test('kohya up/down/alpha, LoCon mid, PEFT A/B, LoHa and LoKr groups', () => {
    const modules = plan([
      'lora_unet_input_blocks_1_1_proj_in.lora_down.weight',
      'lora_unet_input_blocks_1_1_proj_in.lora_up.weight',
      'lora_unet_input_blocks_1_1_proj_in.alpha',
      'lora_unet_input_blocks_1_0_in_layers_2.lora_down.weight',
      'lora_unet_input_blocks_1_0_in_layers_2.lora_mid.weight',
      'lora_unet_input_blocks_1_0_in_layers_2.lora_up.weight',
      'unet.mid_block.attentions.0.proj_out.lora_A.weight',
      'unet.mid_block.attentions.0.proj_out.lora_B.weight',
      'lora_te_text_model_encoder_layers_0_mlp_fc1.hada_w1_a',
      'lora_te_text_model_encoder_layers_0_mlp_fc1.hada_w1_b',
      'lora_te_text_model_encoder_layers_0_mlp_fc1.hada_w2_a',
      'lora_te_text_model_encoder_layers_0_mlp_fc1.hada_w2_b',
      'lora_unet_out_2.lokr_w1',
      'lora_unet_out_2.lokr_w2_a',
      'lora_unet_out_2.lokr_w2_b',
      'lora_unet_out_2.dora_scale',
    ]);
    expect(modules.map((m) => [m.target.weight, m.kind, Object.keys(m.tensors).sort().join(',')])).toEqual([
      ['down_blocks.0.attentions.0.proj_in.weight', 'lora', 'alpha,down,up'],
      ['down_blocks.0.resnets.0.conv1.weight', 'lora', 'down,mid,up'],
      ['mid_block.attentions.0.proj_out.weight', 'lora', 'down,up'],
      ['text_model.encoder.layers.0.mlp.fc1.weight', 'loha', 'hada_w1_a,hada_w1_b,hada_w2_a,hada_w2_b'],
      ['conv_out.weight', 'lokr', 'dora_scale,lokr_w1,lokr_w2_a,lokr_w2_b'],
    ]);
  });

  const refusal = (keys: string[]): AddonFormatError => {
    try {
      plan(keys);
    } catch (error) {
      expect(error).toBeInstanceOf(AddonFormatError);
      return error as AddonFormatError;
    }
    throw new Error('not refused');
  };

  test('an SDXL LoRA: its second text encoder is named as the reason', () => {
    const e = refusal([
      'lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight',
      'lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_down.weight',
    ]);
    expect(e.message).toMatch(/made for SDXL/);
    expect(e.key).toBe('lora_te2_text_model_encoder_layers_0_mlp_fc1.lora_up.weight');
  });

  test('keys naming no layer of this model are listed', () => {
    const e = refusal([
      'lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q.lora_up.weight',
      'lora_unet_input_blocks_1_1_proj_in.lora_up.weight',
      'lora_unet_input_blocks_1_1_proj_in.lora_down.weight',
      'something_else',
    ]);
    expect(e.message).toContain('"lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q.lora_up.weight"');
    expect(e.message).toContain('"something_else"');
    expect(e.message).toMatch(/2 key\(s\)/);
  });

  test('adapters HordeDesk does not apply are refused by name; half a LoRA is refused', () => {
    expect(refusal(['lora_unet_out_2.a1.weight']).message).toMatch(/GLoRA/);
    expect(refusal(['lora_unet_out_2.oft_blocks']).message).toMatch(/OFT/);
    expect(refusal(['lora_unet_out_2.lora_up.weight']).message).toMatch(/no down tensor/);
    expect(refusal(['lora_unet_out_2.lora_up.weight', 'lora_unet_out_2.lora_down.weight', 'lora_unet_out_2.hada_w1_a']).message).toMatch(
      /mixes/,
    );
  });

  test('two names for one weight are refused rather than applied twice', () => {
    const e = refusal([
      'lora_unet_input_blocks_1_1_proj_in.lora_up.weight',
      'lora_unet_input_blocks_1_1_proj_in.lora_down.weight',
      'lora_unet_down_blocks_0_attentions_0_proj_in.lora_up.weight',
      'lora_unet_down_blocks_0_attentions_0_proj_in.lora_down.weight',
    ]);
    expect(e.message).toMatch(/two names for the same weight/);
  });
});

// SDXL base (sd_xl_base.yaml: channels 320/640/1280, transformer depth 0/2/10, CLIP-L 768 × 12, OpenCLIP-G 1280 × 32)
// by hand from sgm's layout and kohya sd-scripts' SDXL key names (`lora_te1_` CLIP-L, `lora_te2_` OpenCLIP-G), as
// ComfyUI's model_lora_keys_unet / model_lora_keys_clip accept them.
describe('LoRA module names → SDXL base weights', () => {
  const xl = sdxlLoraTargets(SDXL_BASE_CONFIG);
  test.each([
    [
      'lora_unet_input_blocks_4_1_transformer_blocks_1_attn1_to_q',
      'unet',
      'down_blocks.1.attentions.0.transformer_blocks.1.attn1.to_q.weight',
      [640, 640],
    ],
    [
      'lora_unet_middle_block_1_transformer_blocks_9_attn2_to_k',
      'unet',
      'mid_block.attentions.0.transformer_blocks.9.attn2.to_k.weight',
      [1280, 2048],
    ],
    ['lora_unet_output_blocks_2_2_conv', 'unet', 'up_blocks.0.upsamplers.0.conv.weight', [1280, 1280, 3, 3]],
    ['lora_unet_label_emb_0_0', 'unet', 'add_embedding.linear_1.weight', [1280, 2816]],
    ['lora_unet_input_blocks_7_1_proj_in', 'unet', 'down_blocks.2.attentions.0.proj_in.weight', [1280, 1280]],
    ['lora_te1_text_model_encoder_layers_11_mlp_fc2', 'text_encoder', 'text_model.encoder.layers.11.mlp.fc2.weight', [768, 3072]],
    ['lora_te2_text_model_encoder_layers_31_mlp_fc1', 'text_encoder_2', 'transformer.resblocks.31.mlp.c_fc.weight', [5120, 1280]],
    [
      'text_encoder_2.text_model.encoder.layers.0.self_attn.out_proj',
      'text_encoder_2',
      'transformer.resblocks.0.attn.out_proj.weight',
      [1280, 1280],
    ],
  ])('%s → %s %s', (key, component, weight, shape) => {
    expect(xl.get(key)).toEqual({ component, weight, shape });
  });

  test("OpenCLIP-G's q, k and v LoRAs patch their thirds of the stacked in_proj_weight", () => {
    for (const [i, name] of ['q', 'k', 'v'].entries())
      expect(xl.get(`lora_te2_text_model_encoder_layers_5_self_attn_${name}_proj`)).toEqual({
        component: 'text_encoder_2',
        weight: 'transformer.resblocks.5.attn.in_proj_weight',
        shape: [1280, 1280],
        rows: { offset: i * 1280, count: 1280, of: [3840, 1280] },
      });
  });

  test('an SDXL LoRA plans on SDXL; a key of another layout is refused naming it', () => {
    const modules = planLoraModules(
      'xl.safetensors',
      [
        'lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight',
        'lora_te2_text_model_encoder_layers_0_self_attn_q_proj.lora_up.weight',
        'lora_te2_text_model_encoder_layers_0_self_attn_k_proj.lora_down.weight',
        'lora_te2_text_model_encoder_layers_0_self_attn_k_proj.lora_up.weight',
      ],
      xl,
      'SDXL',
    );
    expect(modules.map((m) => m.target.rows?.offset)).toEqual([0, 1280]);
    // SD 1.x's input_blocks run to 11; SDXL's stop at 8.
    const error = (() => {
      try {
        planLoraModules('sd1.safetensors', ['lora_unet_input_blocks_11_0_in_layers_2.lora_down.weight'], xl, 'SDXL');
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(error).toBeInstanceOf(AddonFormatError);
    expect((error as AddonFormatError).message).toContain('"lora_unet_input_blocks_11_0_in_layers_2.lora_down.weight"');
    expect((error as AddonFormatError).message).toContain('SDXL model');
  });
});
