/*
 * The register-blocked kernels (pcx_corr_vec_body.h) of one instruction
 * set, pcx_corr_vec_<sfx>_<PCX_ISA>, for float, double, their complex
 * types and the 32- and 64-bit integers (as unsigned: wrapping sums);
 * pcx_corr_rows.h includes this once per set, under its target pragma,
 * with PCX_VB and PCX_ISA defined.  No include guard.
 */

#define PCX_VEC_NAME(sfx) PCX_CAT(PCX_CAT(pcx_corr_vec_, sfx), PCX_CAT(_, PCX_ISA))
/* Each kernel: PCX_T, its lane type PCX_R and size, complex or not; the
 * body undefines them. */

#define PCX_T float
#define PCX_R float
#define PCX_R_SIZE 4
#define PCX_CPLX 0
#define PCX_NAME PCX_VEC_NAME(f32)
#include "pcx_corr_vec_body.h"

#define PCX_T double
#define PCX_R double
#define PCX_R_SIZE 8
#define PCX_CPLX 0
#define PCX_NAME PCX_VEC_NAME(f64)
#include "pcx_corr_vec_body.h"

#define PCX_T float _Complex
#define PCX_R float
#define PCX_R_SIZE 4
#define PCX_CPLX 1
#define PCX_GENERIC pcx_corr_rows_c64_from
#define PCX_NAME PCX_VEC_NAME(c64)
#include "pcx_corr_vec_body.h"

#define PCX_T double _Complex
#define PCX_R double
#define PCX_R_SIZE 8
#define PCX_CPLX 1
#define PCX_GENERIC pcx_corr_rows_c128_from
#define PCX_NAME PCX_VEC_NAME(c128)
#include "pcx_corr_vec_body.h"

#define PCX_T uint32_t
#define PCX_R uint32_t
#define PCX_R_SIZE 4
#define PCX_CPLX 0
#define PCX_NAME PCX_VEC_NAME(u32)
#include "pcx_corr_vec_body.h"

#define PCX_T uint64_t
#define PCX_R uint64_t
#define PCX_R_SIZE 8
#define PCX_CPLX 0
#define PCX_NAME PCX_VEC_NAME(u64)
#include "pcx_corr_vec_body.h"

#undef PCX_VEC_NAME
