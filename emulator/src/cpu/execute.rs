//! The interpreter: one `match` arm per instruction.

use super::*;

impl Cpu {
    #[inline(always)]
    pub(super) fn branch(&self, cond: bool, target: u32) -> Flow {
        Ok(if cond { Some(target) } else { None })
    }

    #[inline(always)]
    pub(super) fn cp_enabled(&self, n: u32) -> Result<(), Exc> {
        if self.cpenable & (1 << n) == 0 {
            Err(Exc::new(cause::COPROCESSOR0_DISABLED + n))
        } else {
            Ok(())
        }
    }

    #[inline(always)]
    pub(super) fn execute<B: Bus>(&mut self, bus: &mut B, i: Insn, pc: u32) -> Flow {
        let next = pc.wrapping_add(i.len as u32);
        match i.op {
            // ---------------- arithmetic / logic
            Op::Add | Op::AddN => self.set_a(i.r, self.a(i.s).wrapping_add(self.a(i.t))),
            Op::Addx2 => self.set_a(i.r, (self.a(i.s) << 1).wrapping_add(self.a(i.t))),
            Op::Addx4 => self.set_a(i.r, (self.a(i.s) << 2).wrapping_add(self.a(i.t))),
            Op::Addx8 => self.set_a(i.r, (self.a(i.s) << 3).wrapping_add(self.a(i.t))),
            Op::Sub => self.set_a(i.r, self.a(i.s).wrapping_sub(self.a(i.t))),
            Op::Subx2 => self.set_a(i.r, (self.a(i.s) << 1).wrapping_sub(self.a(i.t))),
            Op::Subx4 => self.set_a(i.r, (self.a(i.s) << 2).wrapping_sub(self.a(i.t))),
            Op::Subx8 => self.set_a(i.r, (self.a(i.s) << 3).wrapping_sub(self.a(i.t))),
            Op::And => self.set_a(i.r, self.a(i.s) & self.a(i.t)),
            Op::Or => self.set_a(i.r, self.a(i.s) | self.a(i.t)),
            Op::Xor => self.set_a(i.r, self.a(i.s) ^ self.a(i.t)),
            Op::Neg => self.set_a(i.r, self.a(i.t).wrapping_neg()),
            Op::Abs => self.set_a(i.r, (self.a(i.t) as i32).wrapping_abs() as u32),
            Op::Addi | Op::Addmi => self.set_a(i.t, self.a(i.s).wrapping_add(i.imm)),
            Op::AddiN => self.set_a(i.r, self.a(i.s).wrapping_add(i.imm)),
            Op::Movi => self.set_a(i.t, i.imm),
            Op::MoviN => self.set_a(i.s, i.imm),
            Op::MovN => self.set_a(i.t, self.a(i.s)),
            Op::Moveqz => {
                if self.a(i.t) == 0 {
                    self.set_a(i.r, self.a(i.s))
                }
            }
            Op::Movnez => {
                if self.a(i.t) != 0 {
                    self.set_a(i.r, self.a(i.s))
                }
            }
            Op::Movltz => {
                if (self.a(i.t) as i32) < 0 {
                    self.set_a(i.r, self.a(i.s))
                }
            }
            Op::Movgez => {
                if (self.a(i.t) as i32) >= 0 {
                    self.set_a(i.r, self.a(i.s))
                }
            }
            Op::Extui => self.set_a(i.r, (self.a(i.t) >> i.s) & i.imm),
            Op::Slli => self.set_a(i.r, ((self.a(i.s) as u64) << i.imm) as u32),
            Op::Srai => self.set_a(i.r, ((self.a(i.t) as i32) >> i.imm) as u32),
            Op::Srli => self.set_a(i.r, self.a(i.t) >> i.imm),
            // The funnel shifter: every shift through SAR is a 64-bit value shifted right.
            Op::Src => {
                let v = ((self.a(i.s) as u64) << 32) | self.a(i.t) as u64;
                self.set_a(i.r, (v >> self.sar) as u32)
            }
            Op::Srl => self.set_a(i.r, ((self.a(i.t) as u64) >> self.sar) as u32),
            Op::Sll => self.set_a(i.r, (((self.a(i.s) as u64) << 32) >> self.sar) as u32),
            Op::Sra => self.set_a(i.r, ((self.a(i.t) as i32 as i64) >> self.sar) as u32),
            Op::Ssr => self.sar = self.a(i.s) & 31,
            Op::Ssl => self.sar = 32 - (self.a(i.s) & 31),
            Op::Ssa8l => self.sar = (self.a(i.s) & 3) << 3,
            Op::Ssa8b => self.sar = 32 - ((self.a(i.s) & 3) << 3),
            Op::Ssai => self.sar = i.imm,
            Op::Nsa => {
                let v = self.a(i.s) as i32;
                let x = if v < 0 { !v } else { v } as u32;
                self.set_a(i.t, if x == 0 { 31 } else { x.leading_zeros() - 1 })
            }
            Op::Nsau => self.set_a(i.t, self.a(i.s).leading_zeros()),
            Op::Min => self.set_a(i.r, (self.a(i.s) as i32).min(self.a(i.t) as i32) as u32),
            Op::Max => self.set_a(i.r, (self.a(i.s) as i32).max(self.a(i.t) as i32) as u32),
            Op::Minu => self.set_a(i.r, self.a(i.s).min(self.a(i.t))),
            Op::Maxu => self.set_a(i.r, self.a(i.s).max(self.a(i.t))),
            Op::Sext => {
                let sh = 31 - i.imm;
                self.set_a(i.r, (((self.a(i.s) << sh) as i32) >> sh) as u32)
            }
            Op::Clamps => {
                let v = self.a(i.s) as i32;
                let hi = (1i64 << i.imm) - 1;
                let lo = -(1i64 << i.imm);
                self.set_a(i.r, (v as i64).clamp(lo, hi) as i32 as u32)
            }
            Op::Mul16u => self.set_a(i.r, (self.a(i.s) & 0xFFFF) * (self.a(i.t) & 0xFFFF)),
            Op::Mul16s => self.set_a(
                i.r,
                ((self.a(i.s) as i16 as i32) * (self.a(i.t) as i16 as i32)) as u32,
            ),
            Op::Mull => self.set_a(i.r, self.a(i.s).wrapping_mul(self.a(i.t))),
            Op::Muluh => self.set_a(i.r, ((self.a(i.s) as u64 * self.a(i.t) as u64) >> 32) as u32),
            Op::Mulsh => self.set_a(
                i.r,
                ((self.a(i.s) as i32 as i64 * self.a(i.t) as i32 as i64) >> 32) as u32,
            ),
            Op::Quou | Op::Quos | Op::Remu | Op::Rems => {
                let (a, b) = (self.a(i.s), self.a(i.t));
                if b == 0 {
                    return Err(Exc::new(cause::INTEGER_DIVIDE_BY_ZERO).into());
                }
                let v = match i.op {
                    Op::Quou => a / b,
                    Op::Remu => a % b,
                    Op::Quos => (a as i32).wrapping_div(b as i32) as u32,
                    _ => (a as i32).wrapping_rem(b as i32) as u32,
                };
                self.set_a(i.r, v)
            }

            // ---------------- loads / stores
            Op::L8ui => {
                let v = self.load8(bus, self.a(i.s).wrapping_add(i.imm))?;
                self.set_a(i.t, v as u32)
            }
            Op::L16ui => {
                let v = self.load16(bus, self.a(i.s).wrapping_add(i.imm))?;
                self.set_a(i.t, v as u32)
            }
            Op::L16si => {
                let v = self.load16(bus, self.a(i.s).wrapping_add(i.imm))?;
                self.set_a(i.t, v as i16 as i32 as u32)
            }
            Op::L32i | Op::L32iN => {
                let v = self.load32(bus, self.a(i.s).wrapping_add(i.imm))?;
                self.set_a(i.t, v)
            }
            Op::L32ai => {
                let addr = self.a(i.s).wrapping_add(i.imm);
                if addr & 3 != 0 {
                    return Err(Exc::mem(cause::LOAD_STORE_ALIGNMENT, addr).into());
                }
                let v = self.load32(bus, addr)?;
                self.set_a(i.t, v)
            }
            Op::L32r => {
                let base = if self.litbase & 1 != 0 {
                    self.litbase & 0xFFFF_F000
                } else {
                    pc.wrapping_add(3) & !3
                };
                let v = self.load32(bus, base.wrapping_add(i.imm))?;
                self.set_a(i.t, v)
            }
            Op::S8i => self.store8(bus, self.a(i.s).wrapping_add(i.imm), self.a(i.t) as u8)?,
            Op::S16i => self.store16(bus, self.a(i.s).wrapping_add(i.imm), self.a(i.t) as u16)?,
            Op::S32i | Op::S32iN => self.store32(bus, self.a(i.s).wrapping_add(i.imm), self.a(i.t))?,
            Op::S32ri => {
                let addr = self.a(i.s).wrapping_add(i.imm);
                if addr & 3 != 0 {
                    return Err(Exc::mem(cause::LOAD_STORE_ALIGNMENT, addr).into());
                }
                self.store32(bus, addr, self.a(i.t))?
            }
            Op::S32c1i => {
                let addr = self.a(i.s).wrapping_add(i.imm);
                if addr & 3 != 0 {
                    return Err(Exc::mem(cause::LOAD_STORE_ALIGNMENT, addr).into());
                }
                let old = self.load32(bus, addr)?;
                if old == self.scompare1 {
                    self.store32(bus, addr, self.a(i.t))?;
                }
                self.set_a(i.t, old)
            }
            Op::L32e => {
                self.privileged()?;
                let v = self.load32(bus, self.a(i.s).wrapping_add(i.imm))?;
                self.set_a(i.t, v)
            }
            Op::S32e => {
                self.privileged()?;
                self.store32(bus, self.a(i.s).wrapping_add(i.imm), self.a(i.t))?
            }

            // ---------------- branches
            Op::Beqz | Op::BeqzN => return self.branch(self.a(i.s) == 0, i.imm),
            Op::Bnez | Op::BnezN => return self.branch(self.a(i.s) != 0, i.imm),
            Op::Bltz => return self.branch((self.a(i.s) as i32) < 0, i.imm),
            Op::Bgez => return self.branch((self.a(i.s) as i32) >= 0, i.imm),
            Op::Beqi => return self.branch(self.a(i.s) as i32 == B4CONST[i.r as usize], i.imm),
            Op::Bnei => return self.branch(self.a(i.s) as i32 != B4CONST[i.r as usize], i.imm),
            Op::Blti => return self.branch((self.a(i.s) as i32) < B4CONST[i.r as usize], i.imm),
            Op::Bgei => return self.branch(self.a(i.s) as i32 >= B4CONST[i.r as usize], i.imm),
            Op::Bltui => return self.branch(self.a(i.s) < B4CONSTU[i.r as usize], i.imm),
            Op::Bgeui => return self.branch(self.a(i.s) >= B4CONSTU[i.r as usize], i.imm),
            Op::Bnone => return self.branch(self.a(i.s) & self.a(i.t) == 0, i.imm),
            Op::Bany => return self.branch(self.a(i.s) & self.a(i.t) != 0, i.imm),
            Op::Ball => {
                let t = self.a(i.t);
                return self.branch(!self.a(i.s) & t == 0, i.imm);
            }
            Op::Bnall => {
                let t = self.a(i.t);
                return self.branch(!self.a(i.s) & t != 0, i.imm);
            }
            Op::Beq => return self.branch(self.a(i.s) == self.a(i.t), i.imm),
            Op::Bne => return self.branch(self.a(i.s) != self.a(i.t), i.imm),
            Op::Blt => return self.branch((self.a(i.s) as i32) < (self.a(i.t) as i32), i.imm),
            Op::Bge => return self.branch((self.a(i.s) as i32) >= (self.a(i.t) as i32), i.imm),
            Op::Bltu => return self.branch(self.a(i.s) < self.a(i.t), i.imm),
            Op::Bgeu => return self.branch(self.a(i.s) >= self.a(i.t), i.imm),
            Op::Bbc => return self.branch(self.a(i.s) & (1 << (self.a(i.t) & 31)) == 0, i.imm),
            Op::Bbs => return self.branch(self.a(i.s) & (1 << (self.a(i.t) & 31)) != 0, i.imm),
            Op::Bbci => return self.branch(self.a(i.s) & (1 << i.t) == 0, i.imm),
            Op::Bbsi => return self.branch(self.a(i.s) & (1 << i.t) != 0, i.imm),
            Op::Bf => return self.branch(self.br & (1 << i.s) == 0, i.imm),
            Op::Bt => return self.branch(self.br & (1 << i.s) != 0, i.imm),

            // ---------------- jumps and calls
            Op::J => return Ok(Some(i.imm)),
            Op::Jx => return Ok(Some(self.a(i.s))),
            Op::Call0 => return self.op_call(0, next, i.imm),
            Op::Call4 => return self.op_call(1, next, i.imm),
            Op::Call8 => return self.op_call(2, next, i.imm),
            Op::Call12 => return self.op_call(3, next, i.imm),
            Op::Callx0 => {
                let t = self.a(i.s);
                return self.op_call(0, next, t);
            }
            Op::Callx4 => {
                let t = self.a(i.s);
                return self.op_call(1, next, t);
            }
            Op::Callx8 => {
                let t = self.a(i.s);
                return self.op_call(2, next, t);
            }
            Op::Callx12 => {
                let t = self.a(i.s);
                return self.op_call(3, next, t);
            }
            Op::Ret | Op::RetN => return Ok(Some(self.a(0))),
            Op::Retw | Op::RetwN => return self.op_retw(pc),
            Op::Entry => return self.op_entry(i, pc),
            Op::Movsp => {
                let ws = self.ws_rotated();
                // Live frames must not sit in the three windows below the current one.
                if ws & 0xE000 == 0 {
                    return Err(Exc::new(cause::ALLOCA).into());
                }
                self.set_a(i.t, self.a(i.s))
            }
            Op::Rotw => {
                self.privileged()?;
                self.rotate_window(i.imm as i32);
            }

            // ---------------- zero-overhead loops
            Op::Loop | Op::Loopnez | Op::Loopgtz => {
                let count = self.a(i.s);
                self.lbeg = next;
                self.lend = i.imm;
                self.lcount = count.wrapping_sub(1);
                let skip = match i.op {
                    Op::Loopnez => count == 0,
                    Op::Loopgtz => (count as i32) <= 0,
                    _ => false,
                };
                if skip {
                    return Ok(Some(i.imm));
                }
            }

            // ---------------- special registers
            Op::Rsr => {
                if i.imm >= 64 {
                    self.privileged()?;
                }
                let v = self.read_sr(i.imm).ok_or(Exc::new(cause::ILLEGAL))?;
                self.set_a(i.t, v)
            }
            Op::Wsr => {
                if i.imm >= 64 {
                    self.privileged()?;
                }
                // Validity comes from the write side: INTCLEAR is write-only (no RSR), PRID and
                // CONFIGIDn are read-only (ISA: WSR of them is illegal).
                let v = self.a(i.t);
                if !self.write_sr(i.imm, v) {
                    return Err(Exc::new(cause::ILLEGAL).into());
                }
            }
            Op::Xsr => {
                if i.imm >= 64 {
                    self.privileged()?;
                }
                // Only registers both readable and writable through one name can be
                // exchanged (not INTERRUPT/INTSET, INTCLEAR, PRID, CONFIGIDn).
                if !self.sr_allowed(i.imm, access::X) {
                    return Err(Exc::new(cause::ILLEGAL).into());
                }
                let old = self.sr_value(i.imm).ok_or(Exc::new(cause::ILLEGAL))?;
                let v = self.a(i.t);
                self.set_sr_value(i.imm, v);
                self.set_a(i.t, old)
            }
            Op::Rur => {
                if regs::ur_access(i.imm) & access::CP0 != 0 {
                    self.cp_enabled(0)?;
                }
                let v = self.read_ur(i.imm).ok_or(Exc::new(cause::ILLEGAL))?;
                self.set_a(i.r, v)
            }
            Op::Wur => {
                if regs::ur_access(i.imm) & access::CP0 != 0 {
                    self.cp_enabled(0)?;
                }
                let v = self.a(i.t);
                if !self.write_ur(i.imm, v) {
                    return Err(Exc::new(cause::ILLEGAL).into());
                }
            }
            Op::Rsil => {
                self.privileged()?;
                let old = self.ps;
                self.set_ps((self.ps & !ps::INTLEVEL) | i.s as u32);
                self.set_a(i.t, old)
            }
            Op::Waiti => {
                self.privileged()?;
                self.set_ps((self.ps & !ps::INTLEVEL) | i.s as u32);
                self.waiting = true;
            }
            Op::Rfe => {
                self.privileged()?;
                self.set_ps(self.ps & !ps::EXCM);
                return Ok(Some(self.epc[1]));
            }
            Op::Rfde => {
                self.privileged()?;
                return Ok(Some(self.depc));
            }
            Op::Rfwo | Op::Rfwu => {
                self.privileged()?;
                if i.op == Op::Rfwo {
                    self.windowstart &= !(1 << self.windowbase);
                } else {
                    self.windowstart |= 1 << self.windowbase;
                }
                self.windowbase = (self.ps & ps::OWB) >> ps::OWB_SHIFT;
                self.set_ps(self.ps & !ps::EXCM);
                return Ok(Some(self.epc[1]));
            }
            Op::Rfi => {
                self.privileged()?;
                let l = i.s as usize;
                if !(2..=7).contains(&l) {
                    return Err(Exc::new(cause::ILLEGAL).into());
                }
                let target = self.epc[l];
                self.set_ps(self.eps[l]);
                return Ok(Some(target));
            }
            Op::Break => {
                if self.debug_exception(debugcause::BREAK, pc) {
                    return Ok(Some(self.pc));
                }
            }
            Op::BreakN => {
                if self.debug_exception(debugcause::BREAKN, pc) {
                    return Ok(Some(self.pc));
                }
            }
            Op::Syscall => return Err(Exc::new(cause::SYSCALL).into()),
            Op::Isync | Op::Rsync | Op::Esync | Op::Dsync | Op::Excw | Op::Memw | Op::Extw => {}
            Op::Nop | Op::NopN => {}
            Op::Rer => {
                self.privileged()?;
                let addr = self.a(i.s);
                bus.set_cycles(self.cycles);
                let v = bus.rer(addr).map_err(|f| self.load_fault(f, addr))?;
                self.set_a(i.t, v)
            }
            Op::Wer => {
                self.privileged()?;
                let addr = self.a(i.s);
                bus.wer(addr, self.a(i.t)).map_err(|f| self.store_fault(f, addr))?;
                if bus.take_attention() {
                    self.next_event = 0;
                }
            }

            // ---------------- region protection (ESP32: 8 x 512 MiB, no translation)
            Op::Witlb | Op::Wdtlb => {
                self.privileged()?;
                let region = (self.a(i.s) >> 29) as usize;
                let attr = (self.a(i.t) & 0xF) as u8;
                if i.op == Op::Witlb {
                    self.itlb_attr[region] = attr;
                    // Fetch protection changes what may be decoded from where.
                    bus.code_cache().clear();
                } else {
                    self.dtlb_attr[region] = attr;
                }
                self.update_protection();
            }
            Op::Ritlb0 | Op::Rdtlb0 => {
                self.privileged()?;
                self.set_a(i.t, self.a(i.s) & 0xE000_0000)
            }
            Op::Ritlb1 | Op::Rdtlb1 => {
                self.privileged()?;
                let region = (self.a(i.s) >> 29) as usize;
                let attr = if i.op == Op::Ritlb1 { self.itlb_attr[region] } else { self.dtlb_attr[region] };
                self.set_a(i.t, (self.a(i.s) & 0xE000_0000) | attr as u32)
            }
            Op::Pitlb | Op::Pdtlb => {
                self.privileged()?;
                let region = self.a(i.s) >> 29;
                self.set_a(i.t, (self.a(i.s) & 0xE000_0000) | 1 | region)
            }
            Op::Iitlb | Op::Idtlb => self.privileged()?,

            // ---------------- booleans
            Op::Andb | Op::Andbc | Op::Orb | Op::Orbc | Op::Xorb => {
                let s = (self.br >> i.s) & 1;
                let t = (self.br >> i.t) & 1;
                let v = match i.op {
                    Op::Andb => s & t,
                    Op::Andbc => s & !t & 1,
                    Op::Orb => s | t,
                    Op::Orbc => (s | !t) & 1,
                    _ => s ^ t,
                };
                self.br = (self.br & !(1 << i.r)) | (v << i.r);
            }
            Op::Any4 | Op::All4 | Op::Any8 | Op::All8 => {
                let (width, all) = match i.op {
                    Op::Any4 => (4, false),
                    Op::All4 => (4, true),
                    Op::Any8 => (8, false),
                    _ => (8, true),
                };
                let mask = (1u32 << width) - 1;
                let bits = (self.br >> (i.s & !(width - 1) as u8)) & mask;
                let v = if all { (bits == mask) as u32 } else { (bits != 0) as u32 };
                self.br = (self.br & !(1 << i.t)) | (v << i.t);
            }
            Op::Movf => {
                if self.br & (1 << i.t) == 0 {
                    self.set_a(i.r, self.a(i.s))
                }
            }
            Op::Movt => {
                if self.br & (1 << i.t) != 0 {
                    self.set_a(i.r, self.a(i.s))
                }
            }

            // ---------------- FP loads and stores (CP0)
            // The ESP32's update forms (LSIP/SSIP/LSXP/SSXP in its toolchain) post-increment:
            // access at AR[s], then AR[s] += offset.
            Op::Lsi | Op::Lsiu => {
                self.cp_enabled(0)?;
                let base = self.a(i.s);
                let addr = base.wrapping_add(i.imm);
                if i.op == Op::Lsiu {
                    self.fr[i.t as usize] = self.load32(bus, base)?;
                    self.set_a(i.s, addr);
                } else {
                    self.fr[i.t as usize] = self.load32(bus, addr)?;
                }
            }
            Op::Ssi | Op::Ssiu => {
                self.cp_enabled(0)?;
                let base = self.a(i.s);
                let addr = base.wrapping_add(i.imm);
                if i.op == Op::Ssiu {
                    self.store32(bus, base, self.fr[i.t as usize])?;
                    self.set_a(i.s, addr);
                } else {
                    self.store32(bus, addr, self.fr[i.t as usize])?;
                }
            }
            Op::Lsx | Op::Lsxu => {
                self.cp_enabled(0)?;
                let base = self.a(i.s);
                let addr = base.wrapping_add(self.a(i.t));
                if i.op == Op::Lsxu {
                    self.fr[i.r as usize] = self.load32(bus, base)?;
                    self.set_a(i.s, addr);
                } else {
                    self.fr[i.r as usize] = self.load32(bus, addr)?;
                }
            }
            Op::Ssx | Op::Ssxu => {
                self.cp_enabled(0)?;
                let base = self.a(i.s);
                let addr = base.wrapping_add(self.a(i.t));
                if i.op == Op::Ssxu {
                    self.store32(bus, base, self.fr[i.r as usize])?;
                    self.set_a(i.s, addr);
                } else {
                    self.store32(bus, addr, self.fr[i.r as usize])?;
                }
            }

            // ---------------- FP arithmetic (CP0)
            Op::AddS | Op::SubS | Op::MulS | Op::MaddS | Op::MsubS | Op::MaddnS | Op::DivnS
            | Op::RoundS | Op::TruncS | Op::FloorS | Op::CeilS | Op::FloatS | Op::UfloatS
            | Op::UtruncS | Op::MovS | Op::AbsS | Op::ConstS | Op::Rfr | Op::Wfr | Op::NegS
            | Op::Div0S | Op::Recip0S | Op::Sqrt0S | Op::Rsqrt0S | Op::Nexp01S | Op::MksadjS
            | Op::MkdadjS | Op::AddexpS | Op::AddexpmS | Op::UnS | Op::OeqS | Op::UeqS
            | Op::OltS | Op::UltS | Op::OleS | Op::UleS | Op::MoveqzS | Op::MovnezS
            | Op::MovltzS | Op::MovgezS | Op::MovfS | Op::MovtS => {
                self.cp_enabled(0)?;
                self.exec_fp(i)?;
            }

            Op::Mac16 => self.exec_mac16(bus, i)?,

            // ---------------- everything else is illegal on the ESP32
            Op::Ill | Op::IllN | Op::Illegal | Op::Rfue | Op::Rfme | Op::Simcall => {
                return Err(Exc::new(cause::ILLEGAL).into())
            }
            Op::Undecoded | Op::Hook => return Err(Exc::new(cause::ILLEGAL).into()),
        }
        Ok(None)
    }

    /// The shared code cache of `bus` (convenience for hosts).
    pub fn cache<B: Bus>(bus: &mut B) -> &mut CodeCache {
        bus.code_cache()
    }
}
