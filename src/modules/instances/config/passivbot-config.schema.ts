/**
 * The Passivbot config sections, key by key: every key of template-v7.8.4.json and example-v8.json
 * (CONTRACT.md §4) has a rule, plus a few keys of older and newer versions. All keys are optional
 * (Passivbot fills defaults) and unknown keys pass (newer versions add keys).
 */
import {
  ANY_OBJECT,
  BOOL,
  BOUNDS,
  COINS,
  COUNT,
  COUNT1,
  ROUNDED_COUNT,
  END_DATE,
  FORCED_MODE,
  FRACTION,
  GRID_RATIO,
  LIMITS,
  LOG_LEVEL,
  NAME,
  NAMES,
  NONNEG,
  NULLABLE_PATH,
  NUM,
  NUM_OR_BOOL,
  PATH,
  POSITIVE,
  SCALAR,
  SCORING,
  START_DATE,
  USER,
  VERSION,
  list,
  num,
  obj,
  str,
} from './passivbot-config.rules.js';
import type { ConfigShape, Rule } from './passivbot-config.rules.js';

/** The 37 numeric parameters of `bot.long` / `bot.short` in v7, with the bounds Passivbot's docs make obvious. */
const V7_SIDE_FIELDS: Record<string, Rule> = {
  close_grid_markup_end: NUM,
  close_grid_markup_start: NUM,
  close_grid_qty_pct: NONNEG,
  close_trailing_grid_ratio: GRID_RATIO,
  close_trailing_qty_pct: NONNEG,
  close_trailing_retracement_pct: NONNEG,
  close_trailing_threshold_pct: NUM, // <= 0 means "always triggered"
  ema_span_0: POSITIVE,
  ema_span_1: POSITIVE,
  entry_grid_double_down_factor: NONNEG,
  entry_grid_spacing_pct: NONNEG,
  entry_grid_spacing_volatility_weight: NUM,
  entry_grid_spacing_we_weight: NUM, // negative tightens spacing
  entry_initial_ema_dist: NUM,
  entry_initial_qty_pct: NONNEG,
  entry_trailing_double_down_factor: NONNEG,
  entry_trailing_grid_ratio: GRID_RATIO,
  entry_trailing_retracement_pct: NONNEG,
  entry_trailing_retracement_volatility_weight: NUM,
  entry_trailing_retracement_we_weight: NUM,
  entry_trailing_threshold_pct: NUM,
  entry_trailing_threshold_volatility_weight: NUM,
  entry_trailing_threshold_we_weight: NUM,
  entry_volatility_ema_span_hours: POSITIVE,
  filter_volatility_drop_pct: FRACTION,
  filter_volatility_ema_span: POSITIVE,
  filter_volume_drop_pct: FRACTION,
  filter_volume_ema_span: POSITIVE,
  n_positions: ROUNDED_COUNT,
  risk_twel_enforcer_threshold: NUM, // <= 0 disables
  risk_we_excess_allowance_pct: NONNEG,
  risk_wel_enforcer_threshold: NUM,
  total_wallet_exposure_limit: NONNEG,
  unstuck_close_pct: NONNEG,
  unstuck_ema_dist: NUM,
  unstuck_loss_allowance_pct: NONNEG,
  unstuck_threshold: NONNEG,
  wallet_exposure_limit: NONNEG, // coin_overrides only
  enforce_exposure_limit: BOOL, // early v7
};
/** Other v7 bot keys (older or newer versions) are still numbers; early v7 had boolean flags. */
const V7_SIDE = obj(V7_SIDE_FIELDS, { each: NUM_OR_BOOL });

const TRAILING_MARTINGALE = obj({
  close: obj(
    {
      qty_pct: NONNEG,
      retracement_base_pct: NUM,
      retracement_volatility_1h_weight: NUM,
      retracement_volatility_1m_weight: NUM,
      threshold_base_pct: NUM,
      threshold_volatility_1h_weight: NUM,
      threshold_volatility_1m_weight: NUM,
      threshold_we_weight: NUM,
    },
    { each: SCALAR },
  ),
  ema_span_0: POSITIVE,
  ema_span_1: POSITIVE,
  entry: obj(
    {
      double_down_factor: NONNEG,
      ema_gate_mode: NAME,
      initial_ema_dist: NUM,
      initial_qty_pct: NONNEG,
      retracement_base_pct: NUM,
      retracement_volatility_1h_weight: NUM,
      retracement_volatility_1m_weight: NUM,
      retracement_we_weight: NUM,
      threshold_base_pct: NUM,
      threshold_volatility_1h_weight: NUM,
      threshold_volatility_1m_weight: NUM,
      threshold_we_weight: NUM,
    },
    { each: SCALAR },
  ),
  volatility_ema_span_1h: POSITIVE,
  volatility_ema_span_1m: POSITIVE,
});

/** v8 nests the side by concern; flat v7 keys are still typed (Passivbot v8 migrates them). */
const V8_SIDE = obj({
  ...V7_SIDE_FIELDS,
  forager: obj({ score_weights: obj({}, { each: NONNEG }), volatility_ema_span_1m: POSITIVE, volume_drop_pct: FRACTION, volume_ema_span_1m: POSITIVE }),
  hsl: obj({
    cooldown_minutes_after_red: NONNEG,
    ema_span_minutes: POSITIVE,
    enabled: BOOL,
    no_restart_drawdown_threshold: NUM,
    orange_tier_mode: NAME,
    panic_close_order_type: str({ oneOf: ['limit', 'market'] }),
    red_threshold: NONNEG,
    restart_after_red_policy: NAME,
    tier_ratios: obj({}, { each: NONNEG }),
  }),
  risk: obj({
    entry_cooldown_minutes: NONNEG,
    n_positions: ROUNDED_COUNT,
    position_exposure_enforcer_enabled: BOOL,
    position_exposure_enforcer_threshold: NUM,
    total_exposure_enforcer_enabled: BOOL,
    total_exposure_enforcer_policy: NAME,
    total_exposure_enforcer_threshold: NUM,
    total_exposure_entry_gate_enabled: BOOL,
    total_wallet_exposure_limit: NONNEG,
    wallet_exposure_limit: NONNEG,
    we_excess_allowance_mode: NAME,
    we_excess_allowance_pct: NONNEG,
  }),
  strategy: obj({ trailing_martingale: TRAILING_MARTINGALE }, { each: ANY_OBJECT }),
  unstuck: obj({ close_pct: NONNEG, ema_dist: NUM, ema_gating_enabled: BOOL, enabled: BOOL, loss_allowance_pct: NONNEG, threshold: NONNEG, ema_span_0: POSITIVE, ema_span_1: POSITIVE }),
});

/** Nested sections whose presence marks the v8 layout of `bot.long` / `bot.short`. */
export const V8_SIDE_SECTIONS = ['forager', 'hsl', 'risk', 'strategy', 'unstuck'] as const;

const LIVE = obj({
  approved_coins: COINS,
  auto_gs: BOOL,
  balance_hysteresis_snap_pct: NONNEG,
  balance_override: num({ min: 0, nullable: true }),
  base_config_path: PATH,
  candle_lock_timeout_seconds: NONNEG,
  custom_endpoints_path: NULLABLE_PATH,
  defer_broad_candle_warmup: BOOL,
  empty_means_all_approved: BOOL,
  enable_archive_candle_fetch: BOOL,
  exchange_symbol_unavailable_cooldown_hours: NONNEG,
  execution_delay_seconds: NONNEG,
  fee_conversion_max_age_ms: NONNEG,
  fee_pct_fallback: NUM,
  fee_pct_sanity_abs_max: NONNEG,
  fills_confirmation_overlap_minutes: NONNEG,
  fills_recent_overlap_minutes: NONNEG,
  filter_by_min_effective_cost: BOOL,
  forager_score_hysteresis_pct: NONNEG,
  force_cold_startup: BOOL,
  forced_mode_long: FORCED_MODE,
  forced_mode_short: FORCED_MODE,
  hedge_mode: BOOL,
  hsl_accept_incomplete_history: BOOL,
  hsl_position_during_cooldown_policy: NAME,
  hsl_signal_mode: NAME,
  ignored_coins: COINS,
  inactive_coin_candle_ttl_minutes: NONNEG,
  leverage: POSITIVE,
  limit_order_create_max_market_dist_pct: NONNEG,
  margin_mode_preference: NAME,
  market_order_near_touch_threshold: NONNEG,
  market_orders_allowed: BOOL,
  market_snapshot_ticker_strategy: NAME,
  max_active_candle_tail_gap_minutes: NONNEG,
  max_concurrent_api_requests: num({ integer: true, min: 1, nullable: true }),
  max_disk_candles_per_symbol_per_tf: COUNT,
  max_forager_candle_refresh_seconds: NONNEG,
  max_forager_candle_staleness_minutes: num({ min: 0, nullable: true }),
  max_memory_candles_per_symbol: COUNT,
  max_n_cancellations_per_batch: COUNT,
  max_n_creations_per_batch: COUNT,
  max_n_restarts_per_day: COUNT,
  max_ohlcv_fetches_per_minute: NONNEG,
  max_realized_loss_pct: NUM, // <= 0 blocks lossy closes, >= 1 disables the gate
  max_warmup_minutes: NONNEG,
  minimum_coin_age_days: NONNEG,
  minimum_market_age_days: NONNEG, // pre-7.x name
  order_match_tolerance_pct: NONNEG,
  order_replacement_churn_gate_activation_count: COUNT,
  order_replacement_churn_gate_market_dist_pct: NONNEG,
  order_replacement_churn_gate_stability_minutes: NONNEG,
  order_replacement_churn_gate_window_minutes: NONNEG,
  pnls_max_lookback_days: NONNEG,
  price_distance_threshold: NONNEG,
  recv_window_ms: POSITIVE,
  startup_phase_budgets: ANY_OBJECT,
  strategy_kind: NAME,
  time_in_force: NAME,
  user: USER,
  warmup_concurrency: COUNT,
  warmup_jitter_seconds: NONNEG,
  warmup_ratio: NONNEG,
});

const EXCHANGES = list(NAME, 50);

const SCENARIO = obj({
  label: NAME,
  coins: COINS,
  ignored_coins: COINS,
  start_date: START_DATE,
  end_date: END_DATE,
  exchanges: EXCHANGES,
  coin_sources: obj({}, { each: NAME }),
  overrides: ANY_OBJECT, // dotted config paths -> any value
});

const BACKTEST = obj({
  aggregate: obj({}, { each: NAME }),
  balance_sample_divider: COUNT1,
  base_dir: PATH,
  btc_collateral_cap: NONNEG,
  btc_collateral_ltv_cap: num({ min: 0, nullable: true }),
  candle_interval_minutes: COUNT1,
  coin_sources: obj({}, { each: NAME }),
  compress_cache: BOOL,
  dynamic_wel_by_tradability: BOOL,
  end_date: END_DATE,
  exchanges: EXCHANGES,
  filter_by_min_effective_cost: BOOL,
  gap_tolerance_ohlcvs_minutes: NONNEG,
  hlcvs_data_dir: NULLABLE_PATH,
  hlcvs_data_override_mode: NAME,
  liquidation_threshold: NONNEG,
  maker_fee_override: num({ nullable: true }), // rebates are negative
  market_order_slippage_pct: NONNEG,
  market_settings: ANY_OBJECT,
  market_settings_sources: ANY_OBJECT,
  max_warmup_minutes: NONNEG,
  ohlcv_source_dir: NULLABLE_PATH,
  panic_market_slippage_pct: NONNEG,
  reducer: obj({}, { each: NAME }),
  scenarios: list(SCENARIO, 1000),
  start_date: START_DATE,
  starting_balance: POSITIVE,
  suite_enabled: BOOL,
  taker_fee_override: num({ nullable: true }),
  use_btc_collateral: BOOL,
  visible_metrics: NAMES,
  volume_normalization: BOOL,
});

const LOGGING = obj({
  backup_count: COUNT,
  dir: PATH,
  level: LOG_LEVEL,
  live_event_debug_profiles: NAMES,
  max_bytes_mb: NONNEG,
  memory_snapshot_interval_minutes: NONNEG,
  persist_to_file: BOOL,
  rotation: BOOL,
  volume_refresh_info_threshold_seconds: NONNEG,
});

const MONITOR = obj({
  checkpoint_interval_minutes: NONNEG,
  compress_rotated_segments: BOOL,
  emit_completed_candles: BOOL,
  enabled: BOOL,
  event_rotation_mb: NONNEG,
  event_rotation_minutes: NONNEG,
  include_raw_fill_payloads: BOOL,
  max_total_bytes: COUNT,
  price_tick_min_interval_ms: NONNEG,
  retain_candles: BOOL,
  retain_days: NONNEG,
  retain_fills: BOOL,
  retain_price_ticks: BOOL,
  root_dir: PATH,
  snapshot_interval_seconds: NONNEG,
});

function optimize(shape: ConfigShape): Rule {
  return obj({
    backend: NAME,
    bounds: BOUNDS,
    compress_results_file: BOOL,
    crossover_eta: NONNEG,
    crossover_probability: FRACTION,
    enable_overrides: NAMES,
    fixed_params: NAMES,
    fixed_runtime_overrides: ANY_OBJECT,
    iters: COUNT1,
    limits: LIMITS,
    mutation_eta: NONNEG,
    mutation_indpb: FRACTION, // 0 = auto
    mutation_probability: FRACTION,
    n_cpus: COUNT1,
    offspring_multiplier: POSITIVE,
    pareto_max_size: COUNT1,
    population_size: num({ integer: true, min: 1, nullable: shape === 'v8' }), // v8: null = auto
    pymoo: ANY_OBJECT,
    round_to_n_significant_digits: COUNT,
    scoring: SCORING,
    seed: num({ integer: true, nullable: true }),
    write_all_results: BOOL,
  });
}

function configRule(shape: ConfigShape): Rule {
  const side = shape === 'v8' ? V8_SIDE : V7_SIDE;
  const bot = obj({ long: side, short: side });
  return obj({
    backtest: BACKTEST,
    bot,
    coin_overrides: obj({}, { each: obj({ bot, live: LIVE, override_config_path: PATH }) }),
    config_version: VERSION,
    live: LIVE,
    logging: LOGGING,
    monitor: MONITOR,
    optimize: optimize(shape),
  });
}

export const CONFIG_RULES: Record<ConfigShape, Rule> = { v7: configRule('v7'), v8: configRule('v8') };
