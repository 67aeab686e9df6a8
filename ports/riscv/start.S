/* SPDX-License-Identifier: Apache-2.0 */
/*
 * Entry of a compartment image (rv64): global pointer, one stack per hart, .bss cleared, trap
 * vector installed, then C: xcv_riscv_cstart(hart id, a1 at entry).
 *
 * M-mode (-bios none): QEMU starts every hart here at once, a0 = hart id, a1 = DTB. Only the
 * hart the image was linked for (__xcv_image_hart, from the linker script) runs the image; any
 * other hart parks in .Lpark with only its software interrupt enabled and waits to be
 * released: xcv_riscv_hart_start() on the owning hart writes the hart's slot in xcv_riscv_spin
 * (arg, then entry) and raises its MSIP. The parked hart then clears its MSIP and jumps to the
 * entry with a0 = hart id, a1 = arg. The park loop touches nothing but its own slot, its own
 * MSIP and no stack, so it may run while the owner is still clearing .bss.
 *
 * S-mode (XCV_RISCV_SMODE): the SBI firmware enters on one hart, a0 = hart id, a1 = DTB or the
 * opaque argument of SBI HSM hart_start; the first hart to enter owns the image. A hart that
 * enters later (a firmware race, see .Lredirect) goes where its slot in xcv_riscv_spin says:
 * xcv_riscv_hart_start() writes the slot before it calls SBI HSM hart_start.
 */
#define XCV_RISCV_MAX_HARTS 4
#define XCV_RISCV_STACK_SIZE 0x4000     /* 16 KiB per hart */
#define XCV_RISCV_CLINT_BASE 0x02000000

#ifdef XCV_RISCV_SMODE
#define CSR_TVEC stvec
#define CSR_CAUSE scause
#define CSR_EPC sepc
#define CSR_TVAL stval
#define XRET sret
#else
#define CSR_TVEC mtvec
#define CSR_CAUSE mcause
#define CSR_EPC mepc
#define CSR_TVAL mtval
#define XRET mret
#endif

    .section .text.boot, "ax"
    .global _start
    .type _start, @function
_start:
    .option push
    .option norelax
    la      gp, __global_pointer$
    .option pop
#ifdef XCV_RISCV_SMODE
    csrw    sie, zero
    csrci   sstatus, 2                  /* SIE off */
    mv      s0, a0                      /* hart id, as passed by the firmware */
    /* The first hart to enter owns the image (a restart of that hart re-enters it). */
    la      t0, xcv_riscv_owner
    li      t1, -1
0:  lr.d    t2, (t0)
    beq     t2, s0, .Lowner
    bne     t2, t1, .Lredirect
    sc.d    t3, s0, (t0)
    bnez    t3, 0b
.Lowner:
#else
    csrw    mie, zero
    csrci   mstatus, 8                  /* MIE off */
    csrr    s0, mhartid
    la      t0, xcv_riscv_image_hart
    ld      t0, 0(t0)
    bne     s0, t0, .Lpark
#endif
    mv      s1, a1                      /* boot argument */
    li      t0, XCV_RISCV_MAX_HARTS
    bgeu    s0, t0, .Lhalt
    la      sp, xcv_riscv_stack_top
    li      t0, XCV_RISCV_STACK_SIZE
    mul     t0, t0, s0
    sub     sp, sp, t0                  /* top - hart * size */

    /* .bss: the linker script aligns both ends to 16 bytes. */
    la      t0, __bss_start
    la      t1, __bss_end
1:  bgeu    t0, t1, 2f
    sd      zero, 0(t0)
    sd      zero, 8(t0)
    addi    t0, t0, 16
    j       1b
2:
    la      t0, xcv_riscv_trap_entry    /* direct mode: 4-byte aligned */
    csrw    CSR_TVEC, t0
    mv      a0, s0
    mv      a1, s1
    call    xcv_riscv_cstart
.Lhalt:
    wfi
    j       .Lhalt

#ifdef XCV_RISCV_SMODE
/*
 * A second hart entered an image another hart owns. OpenSBI 1.1's hart_start marks the target
 * START_PENDING before it writes the start address, so a hart that reaches its wait loop in
 * that window jumps to the previous address: the image the firmware booted. The owner wrote
 * the hart's slot before calling hart_start: go where it says (a0 = hart id, a1 = arg).
 */
.Lredirect:
    li      t0, XCV_RISCV_MAX_HARTS
    bgeu    s0, t0, .Lhalt
    la      t1, xcv_riscv_spin
    slli    t2, s0, 4
    add     t1, t1, t2
    ld      t3, 0(t1)
    fence   r, r
    beqz    t3, .Lhalt                  /* nobody sent this hart here */
    ld      a1, 8(t1)
    mv      a0, s0
    fence.i
    jr      t3
#else
/* A hart that does not own this image: wait for a release (see the header comment). */
.Lpark:
    li      t0, XCV_RISCV_MAX_HARTS
    bgeu    s0, t0, .Lhalt
    la      t1, xcv_riscv_spin
    slli    t2, s0, 4
    add     t1, t1, t2                  /* this hart's slot {entry, arg} */
    li      t4, XCV_RISCV_CLINT_BASE
    slli    t2, s0, 2
    add     t4, t4, t2                  /* this hart's MSIP */
    li      t2, 8
    csrw    mie, t2                     /* MSIE only: WFI wakes on MSIP, mstatus.MIE stays off */
3:  csrr    t2, mip
    andi    t2, t2, 8
    beqz    t2, 5f
    ld      t3, 0(t1)                   /* entry: written last by the owner */
    fence   r, r                        /* acquire: arg is read after entry */
    beqz    t3, 5f                      /* not released yet: keep waiting (a stray MSIP spins) */
    ld      a1, 8(t1)
    sw      zero, 0(t4)                 /* clear MSIP */
    fence   iorw, iorw
    csrw    mie, zero
    fence.i                             /* the entry's code may have been written by a hart */
    mv      a0, s0
    jr      t3
5:  wfi
    j       3b
#endif
    .size _start, . - _start

/*
 * Trap vector (direct). Saves the caller-saved registers on the current stack and calls
 * xcv_riscv_trap(cause, epc, tval), which returns the pc to resume at. Interrupts return to
 * where they struck; the C handler reports and exits on unexpected exceptions.
 */
    .section .text.trap, "ax"
    .balign 4
    .global xcv_riscv_trap_entry
    .type xcv_riscv_trap_entry, @function
xcv_riscv_trap_entry:
    addi    sp, sp, -128
    sd      ra, 0(sp)
    sd      t0, 8(sp)
    sd      t1, 16(sp)
    sd      t2, 24(sp)
    sd      a0, 32(sp)
    sd      a1, 40(sp)
    sd      a2, 48(sp)
    sd      a3, 56(sp)
    sd      a4, 64(sp)
    sd      a5, 72(sp)
    sd      a6, 80(sp)
    sd      a7, 88(sp)
    sd      t3, 96(sp)
    sd      t4, 104(sp)
    sd      t5, 112(sp)
    sd      t6, 120(sp)
    csrr    a0, CSR_CAUSE
    csrr    a1, CSR_EPC
    csrr    a2, CSR_TVAL
    call    xcv_riscv_trap
    csrw    CSR_EPC, a0
    ld      ra, 0(sp)
    ld      t0, 8(sp)
    ld      t1, 16(sp)
    ld      t2, 24(sp)
    ld      a0, 32(sp)
    ld      a1, 40(sp)
    ld      a2, 48(sp)
    ld      a3, 56(sp)
    ld      a4, 64(sp)
    ld      a5, 72(sp)
    ld      a6, 80(sp)
    ld      a7, 88(sp)
    ld      t3, 96(sp)
    ld      t4, 104(sp)
    ld      t5, 112(sp)
    ld      t6, 120(sp)
    addi    sp, sp, 128
    XRET
    .size xcv_riscv_trap_entry, . - xcv_riscv_trap_entry

/* The hart this image runs on in M-mode (a linker-script symbol, read as data). */
    .section .rodata
    .balign 8
xcv_riscv_image_hart:
    .dword  __xcv_image_hart

/* Park slots, in .data so that clearing .bss cannot race with a parked hart. */
    .section .data
    .balign 64
    .global xcv_riscv_spin
xcv_riscv_spin:
    .zero   16 * XCV_RISCV_MAX_HARTS
#ifdef XCV_RISCV_SMODE
/* S-mode: the hart that owns the image (-1 until the first hart enters). */
    .balign 8
xcv_riscv_owner:
    .dword  -1
#endif

/* Stacks: outside .bss, not cleared. */
    .section .stack, "aw", @nobits
    .balign 16
    .global xcv_riscv_stacks
xcv_riscv_stacks:
    .space  XCV_RISCV_STACK_SIZE * XCV_RISCV_MAX_HARTS
xcv_riscv_stack_top:
