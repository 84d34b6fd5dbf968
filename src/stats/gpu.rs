//! GPU backend: the per-frame integer reductions as wgpu compute shaders
//! (`shaders/frame_stats.wgsl`).
//!
//! [`GpuBackend`] owns the device, queue, the five compute pipelines and the
//! buffers. Buffers are sized once and grown when a bigger batch arrives,
//! then reused. A call to [`StatsBackend::sums`] packs as many frames as fit
//! the adapter's storage-binding limit (at most [`MAX_BATCH_FRAMES`]) into one
//! upload and one submission with five dispatches (native pass, analysis
//! images, 32×32 grid, Laplacian/motion, colour), then waits once for the
//! readback of that batch.
//!
//! The 32×32 embedding grid is computed on the GPU; its DCT is shared host
//! code ([`super::embedding_from_grid`]) used by both backends.
//!
//! Adapters: by default only the primary backends (Vulkan, Metal, DX12) are
//! probed, which avoids slow and noisy GL/EGL probing on headless machines;
//! `WGPU_BACKEND` (e.g. `WGPU_BACKEND=gl`) overrides that.

use std::sync::{mpsc, Arc, Mutex};

use bytemuck::{Pod, Zeroable};

use super::{
    analysis_size, block_pair_counts, validate, FrameInput, FrameSums, StatsBackend, StatsError,
    GRID_CELLS, GRID_SIDE, HIST_BINS, SI_CELL_COUNT, SKY_BAND_DIVISOR,
};

/// Largest number of frames in one submission (dispatch z must stay below
/// the 65535 workgroups-per-dimension limit; 256 keeps readbacks small).
pub const MAX_BATCH_FRAMES: usize = 256;
/// Upper bound of one batch's input upload, bytes (also capped by the
/// adapter's `max_storage_buffer_binding_size`). 256 MiB ≈ 60 1080p frames
/// with their next frames.
const MAX_BATCH_INPUT_BYTES: u64 = 256 << 20;

// Output layout per frame, in u32 words; must match shaders/frame_stats.wgsl.
const S_EDGE: usize = 256;
const S_INNER: usize = 258;
const S_LAP: usize = 260;
const S_LAPSQ: usize = 262;
const S_MOTION: usize = 264;
const S_RG: usize = 266;
const S_RGSQ: usize = 268;
const S_YB: usize = 270;
const S_YBSQ: usize = 272;
const GRID_OFF: usize = 288;
const MOTION_GRID_OFF: usize = GRID_OFF + GRID_CELLS;
const NEXT_MOTION_GRID_OFF: usize = MOTION_GRID_OFF + GRID_CELLS;
const S_NEUTRAL: usize = NEXT_MOTION_GRID_OFF + GRID_CELLS;
const S_SKY: usize = S_NEUTRAL + 8;
const SI_OFF: usize = S_SKY + 2;
/// Words of output per frame.
const S_NOISE: usize = SI_OFF + 4 * SI_CELL_COUNT;
const OUT_STRIDE: usize = S_NOISE + 4 * SI_CELL_COUNT;
// Offsets that make signed terms non-negative in the shader.
const LAP_OFFSET: i64 = 1020;
const RG_OFFSET: i64 = 255;
const YB2_OFFSET: i64 = 510;
// Native pass tile: 64 threads × NATIVE_COLS pixels × NATIVE_ROWS rows.
const NATIVE_TILE_W: u32 = 64 * 4;
const NATIVE_ROWS: u32 = 32;
const WORKGROUP: u32 = 64;
/// Analysis pass tile: 64 columns × ANA_ROWS rows.
const ANA_ROWS: u32 = 12;
const MAX_WORKGROUPS: u32 = 65535;

/// Per-frame parameters, shared with the shader (`FrameParams`).
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, Pod, Zeroable)]
struct FrameParams {
    luma_off: u32,
    next_off: u32,
    rgb_off: u32,
    has_next: u32,
    width: u32,
    height: u32,
    aw: u32,
    ah: u32,
    rgb_count: u32,
    ana_off: u32,
    ana_next_off: u32,
    out_off: u32,
    sky_n: u32,
    _pad: [u32; 3],
}

/// "name [device type, backend]", as listed by [`list_adapters`].
fn describe(info: &wgpu::AdapterInfo) -> String {
    format!("{} [{:?}, {:?}]", info.name, info.device_type, info.backend)
}

fn make_instance() -> wgpu::Instance {
    let mut desc = wgpu::InstanceDescriptor::new_without_display_handle_from_env();
    if std::env::var_os("WGPU_BACKEND").is_none() {
        desc.backends = wgpu::Backends::PRIMARY;
    }
    wgpu::Instance::new(desc)
}

fn enumerate(instance: &wgpu::Instance) -> Vec<wgpu::Adapter> {
    let backends = wgpu::Backends::from_env().unwrap_or(wgpu::Backends::PRIMARY);
    pollster::block_on(instance.enumerate_adapters(backends))
}

/// Every adapter wgpu can see (primary backends unless `WGPU_BACKEND` says
/// otherwise), as "name [device type, backend]", e.g.
/// "llvmpipe (LLVM 15.0.7, 256 bits) [Cpu, Vulkan]". Empty when there is none.
pub fn list_adapters() -> Vec<String> {
    enumerate(&make_instance())
        .iter()
        .map(|a| describe(&a.get_info()))
        .collect()
}

/// Preference of an adapter for compute, higher is better; `None` = not
/// usable (no compute shaders, or a software adapter without
/// `allow_software`).
fn rank(adapter: &wgpu::Adapter, allow_software: bool) -> Option<u32> {
    let info = adapter.get_info();
    let caps = adapter.get_downlevel_capabilities();
    if !caps.flags.contains(wgpu::DownlevelFlags::COMPUTE_SHADERS) {
        return None;
    }
    let ty = match info.device_type {
        wgpu::DeviceType::DiscreteGpu => 40,
        wgpu::DeviceType::IntegratedGpu => 30,
        wgpu::DeviceType::VirtualGpu => 20,
        wgpu::DeviceType::Cpu | wgpu::DeviceType::Other if allow_software => 10,
        _ => return None,
    };
    let backend = match info.backend {
        wgpu::Backend::Vulkan | wgpu::Backend::Metal | wgpu::Backend::Dx12 => 1,
        _ => 0,
    };
    Some(ty + backend)
}

/// Buffers sized for the largest batch seen so far.
struct Buffers {
    input: wgpu::Buffer,
    params: wgpu::Buffer,
    /// Analysis-image scratch (only referenced through the bind group).
    _ana: wgpu::Buffer,
    out: wgpu::Buffer,
    readback: wgpu::Buffer,
    bind_group: wgpu::BindGroup,
}

/// Layout of one batch: where each frame's data goes.
struct BatchPlan {
    params: Vec<FrameParams>,
    input_bytes: u64,
    ana_words: u64,
    max_w: u32,
    max_h: u32,
    max_ana_px: u32,
    max_aw: u32,
    max_ah: u32,
    max_rgb: u32,
}

fn align4(n: u64) -> u64 {
    n.div_ceil(4) * 4
}

impl BatchPlan {
    fn new(frames: &[FrameInput<'_>]) -> BatchPlan {
        let mut p = BatchPlan {
            params: Vec::with_capacity(frames.len()),
            input_bytes: 0,
            ana_words: 0,
            max_w: 0,
            max_h: 0,
            max_ana_px: 0,
            max_aw: 0,
            max_ah: 0,
            max_rgb: 0,
        };
        for (i, f) in frames.iter().enumerate() {
            let (aw, ah) = analysis_size(f.width, f.height);
            let mut fp = FrameParams {
                width: f.width,
                height: f.height,
                aw,
                ah,
                rgb_count: (f.rgb.len() / 3) as u32,
                out_off: (i * OUT_STRIDE) as u32,
                sky_n: f.rgb_width * (f.rgb_height / SKY_BAND_DIVISOR),
                ..Default::default()
            };
            fp.luma_off = p.input_bytes as u32;
            p.input_bytes += align4(f.luma.len() as u64);
            if let Some(n) = f.next_luma {
                fp.has_next = 1;
                fp.next_off = p.input_bytes as u32;
                p.input_bytes += align4(n.len() as u64);
            }
            fp.rgb_off = p.input_bytes as u32;
            p.input_bytes += align4(f.rgb.len() as u64);
            let ana_px = aw * ah;
            fp.ana_off = p.ana_words as u32;
            p.ana_words += u64::from(ana_px);
            if fp.has_next == 1 {
                fp.ana_next_off = p.ana_words as u32;
                p.ana_words += u64::from(ana_px);
            }
            p.max_w = p.max_w.max(f.width);
            p.max_h = p.max_h.max(f.height);
            p.max_ana_px = p.max_ana_px.max(ana_px);
            p.max_aw = p.max_aw.max(aw);
            p.max_ah = p.max_ah.max(ah);
            p.max_rgb = p.max_rgb.max(fp.rgb_count);
            p.params.push(fp);
        }
        p
    }
}

/// Bytes of input one frame needs in a batch.
fn frame_input_bytes(f: &FrameInput<'_>) -> u64 {
    align4(f.luma.len() as u64)
        + f.next_luma.map_or(0, |n| align4(n.len() as u64))
        + align4(f.rgb.len() as u64)
}

/// Bytes of analysis-image scratch one frame needs (u32 per pixel, twice
/// with a next frame).
fn frame_ana_bytes(f: &FrameInput<'_>) -> u64 {
    let (aw, ah) = analysis_size(f.width, f.height);
    u64::from(aw * ah) * 4 * if f.next_luma.is_some() { 2 } else { 1 }
}

/// The wgpu backend. Construct with [`GpuBackend::new`].
pub struct GpuBackend {
    device: wgpu::Device,
    queue: wgpu::Queue,
    info: wgpu::AdapterInfo,
    layout: wgpu::BindGroupLayout,
    native: wgpu::ComputePipeline,
    resample: wgpu::ComputePipeline,
    grid: wgpu::ComputePipeline,
    analysis: wgpu::ComputePipeline,
    color: wgpu::ComputePipeline,
    buffers: Option<Buffers>,
    /// Capacities of (input, params, ana, out) in bytes.
    caps: [u64; 4],
    /// Largest input upload per batch.
    max_batch_bytes: u64,
    /// Errors reported outside an error scope (device loss etc.).
    uncaptured: Arc<Mutex<Option<String>>>,
}

impl GpuBackend {
    /// Opens the best adapter for compute: a discrete, then integrated, then
    /// virtual GPU. With `allow_software`, a software adapter (device type
    /// `Cpu`, e.g. Mesa lavapipe) is accepted when nothing better exists;
    /// tests use this to run the GPU path without a GPU. Returns
    /// [`StatsError::NoAdapter`] (listing the adapters seen) when there is
    /// no usable adapter; never panics for lack of one.
    pub fn new(allow_software: bool) -> Result<GpuBackend, StatsError> {
        let instance = make_instance();
        let adapters = enumerate(&instance);
        let seen: Vec<String> = adapters.iter().map(|a| describe(&a.get_info())).collect();
        let adapter = adapters
            .into_iter()
            .filter_map(|a| rank(&a, allow_software).map(|r| (r, a)))
            .max_by_key(|(r, _)| *r)
            .map(|(_, a)| a)
            .ok_or(StatsError::NoAdapter { seen })?;
        let info = adapter.get_info();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("frame-stats"),
            required_features: wgpu::Features::empty(),
            required_limits: adapter.limits(),
            memory_hints: wgpu::MemoryHints::Performance,
            ..Default::default()
        }))
        .map_err(|e| StatsError::Gpu(format!("request_device on {}: {e}", describe(&info))))?;

        let uncaptured = Arc::new(Mutex::new(None::<String>));
        let sink = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            if let Ok(mut slot) = sink.lock() {
                slot.get_or_insert_with(|| e.to_string());
            }
        }));

        let limits = device.limits();
        let max_batch_bytes = MAX_BATCH_INPUT_BYTES
            .min(limits.max_storage_buffer_binding_size)
            .min(limits.max_buffer_size);

        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some("frame_stats.wgsl"),
            source: wgpu::ShaderSource::Wgsl(include_str!("../../shaders/frame_stats.wgsl").into()),
        });
        let storage = |binding: u32, read_only: bool| wgpu::BindGroupLayoutEntry {
            binding,
            visibility: wgpu::ShaderStages::COMPUTE,
            ty: wgpu::BindingType::Buffer {
                ty: wgpu::BufferBindingType::Storage { read_only },
                has_dynamic_offset: false,
                min_binding_size: None,
            },
            count: None,
        };
        let layout = device.create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
            label: Some("frame-stats"),
            entries: &[
                storage(0, true),
                storage(1, true),
                storage(2, false),
                storage(3, false),
            ],
        });
        let pipeline_layout = device.create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
            label: Some("frame-stats"),
            bind_group_layouts: &[Some(&layout)],
            immediate_size: 0,
        });
        let pipeline = |entry: &str| {
            device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(entry),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some(entry),
                compilation_options: Default::default(),
                cache: None,
            })
        };
        let native = pipeline("native_pass");
        let resample = pipeline("resample_pass");
        let grid = pipeline("grid_pass");
        let analysis = pipeline("analysis_pass");
        let color = pipeline("color_pass");
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(StatsError::Gpu(format!("shader/pipeline creation: {e}")));
        }

        Ok(GpuBackend {
            device,
            queue,
            info,
            layout,
            native,
            resample,
            grid,
            analysis,
            color,
            buffers: None,
            caps: [0; 4],
            max_batch_bytes,
            uncaptured,
        })
    }

    /// The adapter in use, e.g. "NVIDIA H100 (Vulkan)".
    pub fn adapter_description(&self) -> String {
        format!("{} ({:?})", self.info.name, self.info.backend)
    }

    /// The adapter's wgpu info (name, device type, backend, driver).
    pub fn adapter_info(&self) -> &wgpu::AdapterInfo {
        &self.info
    }

    /// Grows the buffers (doubling, at least to the need) when a batch needs
    /// more than the current capacity; keeps them otherwise.
    fn ensure_buffers(&mut self, need: [u64; 4]) -> Result<(), StatsError> {
        if self.buffers.is_some() && need.iter().zip(&self.caps).all(|(n, c)| n <= c) {
            return Ok(());
        }
        // Double (at least to the need), but never past the binding limit,
        // which the batching keeps every need below.
        for (cap, &n) in self.caps.iter_mut().zip(&need) {
            if n > *cap {
                *cap = n
                    .max(cap.saturating_mul(2))
                    .max(256)
                    .min(self.max_batch_bytes)
                    .max(n);
                *cap = align4(*cap);
            }
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let mk = |label: &str, size: u64, usage: wgpu::BufferUsages| {
            self.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(label),
                size,
                usage,
                mapped_at_creation: false,
            })
        };
        use wgpu::BufferUsages as U;
        let input = mk("input", self.caps[0], U::STORAGE | U::COPY_DST);
        let params = mk("params", self.caps[1], U::STORAGE | U::COPY_DST);
        let ana = mk("analysis", self.caps[2], U::STORAGE);
        let out = mk("out", self.caps[3], U::STORAGE | U::COPY_SRC | U::COPY_DST);
        let readback = mk("readback", self.caps[3], U::MAP_READ | U::COPY_DST);
        if let Some(e) = pollster::block_on(scope.pop()) {
            self.buffers = None;
            self.caps = [0; 4];
            return Err(StatsError::Gpu(format!("buffer allocation: {e}")));
        }
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("frame-stats"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: input.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: params.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: ana.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 3,
                    resource: out.as_entire_binding(),
                },
            ],
        });
        self.buffers = Some(Buffers {
            input,
            params,
            _ana: ana,
            out,
            readback,
            bind_group,
        });
        Ok(())
    }

    fn take_uncaptured(&self) -> Result<(), StatsError> {
        match self.uncaptured.lock().ok().and_then(|mut s| s.take()) {
            Some(e) => Err(StatsError::Gpu(e)),
            None => Ok(()),
        }
    }

    /// One submission: upload, five dispatches, one readback.
    fn run_batch(&mut self, frames: &[FrameInput<'_>]) -> Result<Vec<FrameSums>, StatsError> {
        let plan = BatchPlan::new(frames);
        let n = frames.len();
        let out_bytes = (n * OUT_STRIDE * 4) as u64;
        self.ensure_buffers([
            plan.input_bytes.max(4),
            (plan.params.len() * std::mem::size_of::<FrameParams>()) as u64,
            (plan.ana_words * 4).max(4),
            out_bytes,
        ])?;
        let bufs = self.buffers.as_ref().expect("buffers allocated above");

        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        if let Some(size) = wgpu::BufferSize::new(plan.input_bytes) {
            let mut view = self
                .queue
                .write_buffer_with(&bufs.input, 0, size)
                .ok_or_else(|| StatsError::Gpu("write_buffer_with refused the upload".into()))?;
            for (f, p) in frames.iter().zip(&plan.params) {
                let put = |view: &mut wgpu::QueueWriteBufferView, off: u32, data: &[u8]| {
                    let off = off as usize;
                    view.slice(off..off + data.len()).copy_from_slice(data);
                };
                put(&mut view, p.luma_off, f.luma);
                if let Some(next) = f.next_luma {
                    put(&mut view, p.next_off, next);
                }
                put(&mut view, p.rgb_off, f.rgb);
            }
        }
        self.queue
            .write_buffer(&bufs.params, 0, bytemuck::cast_slice(&plan.params));

        let mut enc = self
            .device
            .create_command_encoder(&wgpu::CommandEncoderDescriptor {
                label: Some("frame-stats"),
            });
        enc.clear_buffer(&bufs.out, 0, Some(out_bytes));
        {
            let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                label: Some("frame-stats"),
                timestamp_writes: None,
            });
            pass.set_bind_group(0, &bufs.bind_group, &[]);
            let nz = n as u32;
            pass.set_pipeline(&self.native);
            pass.dispatch_workgroups(
                plan.max_w.div_ceil(NATIVE_TILE_W),
                plan.max_h.div_ceil(NATIVE_ROWS),
                nz,
            );
            pass.set_pipeline(&self.resample);
            pass.dispatch_workgroups(plan.max_ana_px.div_ceil(WORKGROUP), 2, nz);
            pass.set_pipeline(&self.grid);
            pass.dispatch_workgroups((GRID_SIDE * GRID_SIDE).div_ceil(WORKGROUP), 3, nz);
            pass.set_pipeline(&self.analysis);
            pass.dispatch_workgroups(
                plan.max_aw.div_ceil(WORKGROUP),
                plan.max_ah.div_ceil(ANA_ROWS),
                nz,
            );
            if plan.max_rgb > 0 {
                pass.set_pipeline(&self.color);
                pass.dispatch_workgroups(
                    plan.max_rgb.div_ceil(WORKGROUP).min(MAX_WORKGROUPS),
                    1,
                    nz,
                );
            }
        }
        enc.copy_buffer_to_buffer(&bufs.out, 0, &bufs.readback, 0, Some(out_bytes));
        self.queue.submit([enc.finish()]);
        if let Some(e) = pollster::block_on(scope.pop()) {
            return Err(StatsError::Gpu(format!("batch submission: {e}")));
        }

        let slice = bufs.readback.slice(..out_bytes);
        let (tx, rx) = mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| StatsError::Gpu(format!("poll: {e}")))?;
        rx.recv()
            .map_err(|_| StatsError::Gpu("readback callback dropped".into()))?
            .map_err(|e| StatsError::Gpu(format!("readback map: {e}")))?;
        let sums = {
            let view = slice
                .get_mapped_range()
                .map_err(|e| StatsError::Gpu(format!("readback view: {e}")))?;
            let words: &[u32] = bytemuck::cast_slice(&view);
            frames
                .iter()
                .enumerate()
                .map(|(i, f)| parse(&words[i * OUT_STRIDE..(i + 1) * OUT_STRIDE], f))
                .collect()
        };
        bufs.readback.unmap();
        self.take_uncaptured()?;
        Ok(sums)
    }
}

/// FrameSums from one frame's output words.
fn parse(w: &[u32], f: &FrameInput<'_>) -> FrameSums {
    let u64_at = |i: usize| u64::from(w[i]) | (u64::from(w[i + 1]) << 32);
    let (aw, ah) = analysis_size(f.width, f.height);
    let lap_count = u64::from(aw.saturating_sub(2)) * u64::from(ah.saturating_sub(2));
    let rgb_count = (f.rgb.len() / 3) as u64;
    let (block_edge_pairs, block_inner_pairs) = block_pair_counts(f.width, f.height);
    let mut hist = [0u32; HIST_BINS];
    hist.copy_from_slice(&w[..HIST_BINS]);
    FrameSums {
        width: f.width,
        height: f.height,
        analysis_width: aw,
        analysis_height: ah,
        hist,
        block_edge_sum: u64_at(S_EDGE),
        block_edge_pairs,
        block_inner_sum: u64_at(S_INNER),
        block_inner_pairs,
        lap_sum: u64_at(S_LAP) as i64 - LAP_OFFSET * lap_count as i64,
        lap_sq_sum: u64_at(S_LAPSQ),
        lap_count,
        motion_abs_sum: f.next_luma.map(|_| u64_at(S_MOTION)),
        motion_count: u64::from(aw) * u64::from(ah),
        rg_sum: u64_at(S_RG) as i64 - RG_OFFSET * rgb_count as i64,
        rg_sq_sum: u64_at(S_RGSQ),
        yb2_sum: u64_at(S_YB) as i64 - YB2_OFFSET * rgb_count as i64,
        yb2_sq_sum: u64_at(S_YBSQ),
        rgb_count,
        grid: w[GRID_OFF..GRID_OFF + GRID_CELLS]
            .iter()
            .map(|&v| v as u8)
            .collect(),
        motion_grid: w[MOTION_GRID_OFF..MOTION_GRID_OFF + GRID_CELLS]
            .iter()
            .map(|&v| v as u8)
            .collect(),
        next_motion_grid: f.next_luma.map(|_| {
            w[NEXT_MOTION_GRID_OFF..NEXT_MOTION_GRID_OFF + GRID_CELLS]
                .iter()
                .map(|&v| v as u8)
                .collect()
        }),
        neutral_rgb_sum: [
            u64_at(S_NEUTRAL),
            u64_at(S_NEUTRAL + 2),
            u64_at(S_NEUTRAL + 4),
        ],
        neutral_count: u64_at(S_NEUTRAL + 6),
        sky_count: u64_at(S_SKY),
        sky_band_count: u64::from(f.rgb_width * (f.rgb_height / SKY_BAND_DIVISOR)),
        si_mag_sum: (0..SI_CELL_COUNT).map(|c| u64_at(SI_OFF + 2 * c)).collect(),
        si_mag_sq_sum: (0..SI_CELL_COUNT)
            .map(|c| u64_at(SI_OFF + 2 * SI_CELL_COUNT + 2 * c))
            .collect(),
        noise_abs_sum: (0..SI_CELL_COUNT)
            .map(|c| u64_at(S_NOISE + 2 * c))
            .collect(),
        noise_count: (0..SI_CELL_COUNT)
            .map(|c| u64_at(S_NOISE + 2 * SI_CELL_COUNT + 2 * c))
            .collect(),
    }
}

impl StatsBackend for GpuBackend {
    fn name(&self) -> String {
        format!("gpu: {}", self.adapter_description())
    }

    fn on_cpu(&self) -> bool {
        false
    }

    fn sums(&mut self, frames: &[FrameInput<'_>]) -> Result<Vec<FrameSums>, StatsError> {
        for (i, f) in frames.iter().enumerate() {
            validate(i, f)?;
            if frame_input_bytes(f) > self.max_batch_bytes {
                return Err(StatsError::InvalidFrame {
                    index: i,
                    reason: format!(
                        "needs {} bytes of GPU input, more than the adapter's {} byte limit",
                        frame_input_bytes(f),
                        self.max_batch_bytes
                    ),
                });
            }
        }
        let mut out = Vec::with_capacity(frames.len());
        let mut start = 0;
        while start < frames.len() {
            // Greedy: add frames while the input and the analysis scratch
            // both stay within the storage-binding limit.
            let mut end = start;
            let (mut bytes, mut ana) = (0u64, 0u64);
            while end < frames.len()
                && end - start < MAX_BATCH_FRAMES
                && bytes + frame_input_bytes(&frames[end]) <= self.max_batch_bytes
                && ana + frame_ana_bytes(&frames[end]) <= self.max_batch_bytes
            {
                bytes += frame_input_bytes(&frames[end]);
                ana += frame_ana_bytes(&frames[end]);
                end += 1;
            }
            out.extend(self.run_batch(&frames[start..end])?);
            start = end;
        }
        Ok(out)
    }
}
