;; Exact cosine scores for the memory's vector index (web/bridges/vector-index.mjs).
;; Rows are L2-normalised float32 vectors, so cosine = dot product. SIMD (f32x4) with two
;; accumulators; build.py compiles this file with wabt into dist/wasm/vector-index.wasm.
(module
  (memory (export "memory") 1)
  ;; out[r] = dot(mat[r], q) for r in [0, rows); dim is a multiple of 8; pointers are byte offsets.
  (func (export "scores")
    (param $mat i32) (param $q i32) (param $out i32) (param $rows i32) (param $dim i32)
    (local $r i32) (local $d i32) (local $bytes i32) (local $row i32)
    (local $a v128) (local $b v128)
    (local.set $bytes (i32.shl (local.get $dim) (i32.const 2)))
    (local.set $row (local.get $mat))
    (block $rows_done
      (loop $rows_loop
        (br_if $rows_done (i32.ge_u (local.get $r) (local.get $rows)))
        (local.set $a (f32x4.splat (f32.const 0)))
        (local.set $b (f32x4.splat (f32.const 0)))
        (local.set $d (i32.const 0))
        (block $dims_done
          (loop $dims_loop
            (br_if $dims_done (i32.ge_u (local.get $d) (local.get $bytes)))
            (local.set $a
              (f32x4.add (local.get $a)
                (f32x4.mul
                  (v128.load (i32.add (local.get $row) (local.get $d)))
                  (v128.load (i32.add (local.get $q) (local.get $d))))))
            (local.set $b
              (f32x4.add (local.get $b)
                (f32x4.mul
                  (v128.load offset=16 (i32.add (local.get $row) (local.get $d)))
                  (v128.load offset=16 (i32.add (local.get $q) (local.get $d))))))
            (local.set $d (i32.add (local.get $d) (i32.const 32)))
            (br $dims_loop)))
        (local.set $a (f32x4.add (local.get $a) (local.get $b)))
        (f32.store
          (i32.add (local.get $out) (i32.shl (local.get $r) (i32.const 2)))
          (f32.add
            (f32.add (f32x4.extract_lane 0 (local.get $a)) (f32x4.extract_lane 1 (local.get $a)))
            (f32.add (f32x4.extract_lane 2 (local.get $a)) (f32x4.extract_lane 3 (local.get $a)))))
        (local.set $row (i32.add (local.get $row) (local.get $bytes)))
        (local.set $r (i32.add (local.get $r) (i32.const 1)))
        (br $rows_loop)))))
