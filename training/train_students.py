"""SC2-style students and the channel-reduction baseline, trained together so that each batch's
teacher activations are computed once (the CPU budget is the constraint here).

Stage 1: encoder (+ entropy bottleneck) + decoder learn to reproduce the teacher's stage2
activation (MSE) while paying beta * bits of the latent (additive uniform noise); the teacher
tail is frozen (not trained). Stage 2: encoder and entropy model frozen, latent quantised as at
inference; decoder and tail fine-tuned with knowledge distillation on the teacher's logits."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import REPO, Student, Teacher, augment, bits, load_split, to_input  # noqa: E402

BETAS = [float(b) for b in os.environ.get('STUDENT_BETAS', '0.0001,0.0004,0.0016,0.0064').split(',')]
CFG = dict(seed=2, latent_ch=8, batch=128, stage1_epochs=int(os.environ.get('STAGE1_EPOCHS', 3)),
           stage2_epochs=int(os.environ.get('STAGE2_EPOCHS', 1)), stage1_lr=2e-3, stage2_lr=5e-4,
           kd_temperature=4.0, kd_weight=0.5, ce_weight=0.5, aug='crop(pad2)+hflip', betas=BETAS,
           rate_unit='bits per image', distortion='MSE to teacher stage2 activation / its variance',
           extra_epochs=int(os.environ.get('STAGE2_EXTRA_EPOCHS', 2)), extra_lr=3e-4, extra_seed=12,
           extra_skip_top1_below=0.2)
CKPT = os.environ.get('ZOO_CKPT_DIR', os.path.join(REPO, 'training', 'checkpoints'))
LOGS = os.environ.get('ZOO_LOG_DIR', os.path.join(REPO, 'training', 'logs'))
SMOKE = os.environ.get('ZOO_SMOKE') == '1'  # a few steps only, to check the code path


def beta_tag(beta):
    """Model name tag: beta in units of 1e-3 (student-b1 has beta = 0.001)."""
    return ('%g' % (beta * 1000))


def quant8(y, scale, zp):
    """Per-channel 8-bit quantise-dequantise of the channel-reduction latent."""
    s, z = scale.view(1, -1, 1, 1), zp.view(1, -1, 1, 1)
    q = torch.clamp(torch.round(y / s) + z, 0, 255)
    return (q - z) * s


def latent_for_tail(name, st, y, qparams):
    if st.entropy_bottleneck is not None:
        return st.entropy_bottleneck.quantize(y)
    return quant8(y, *qparams[name])


def evaluate(models, teacher, xte, yte, qparams, batch=1000):
    """top-1 (quantised latent) and mean bits per image of every model on the test set."""
    res = {}
    for name, st in models.items():
        st.eval()
        correct, tot_bits = 0, 0.0
        with torch.no_grad():
            for i in range(0, len(xte), batch):
                xb = xte[i:i + batch]
                y = st.encoder(xb)
                if st.entropy_bottleneck is not None:
                    yq, lik = st.entropy_bottleneck(y, training=False)
                    tot_bits += bits(lik).sum().item()
                else:
                    yq = quant8(y, *qparams[name]) if name in qparams else y
                logits = st.tail(st.decoder(yq))[1]
                correct += (logits.argmax(1) == yte[i:i + batch]).sum().item()
        res[name] = dict(top1=correct / len(xte), bytes=tot_bits / len(xte) / 8)
    return res


def main():
    torch.set_num_threads(int(os.environ.get('TRAIN_THREADS', 1)))
    phase = os.environ.get('STUDENT_PHASE', 'all')
    if phase in ('all', 'main'):
        train_main()
    if phase in ('all', 'extra') and CFG['extra_epochs'] > 0:
        train_extra()


def setup():
    ck = torch.load(os.path.join(CKPT, 'teacher.pt'))
    tcfg = ck['cfg']
    teacher = Teacher(tcfg['widths'], tcfg['blocks'])
    teacher.load_state_dict(ck['state'])
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    xtr_u8, ytr = load_split('train')
    xte_u8, yte = load_split('test')
    xtr, xte = to_input(xtr_u8, ck['mean'], ck['std']), to_input(xte_u8, ck['mean'], ck['std'])
    return teacher, tcfg, xtr, torch.from_numpy(ytr), xte, torch.from_numpy(yte)


def train_extra():
    """Stage 2, continued: more KD epochs on decoder + tail (encoder and entropy model stay
    frozen) with a fresh one-cycle schedule and its own seed. Students whose stage-2 top-1 is at
    chance (the rate term erased their latent) are skipped: there is nothing left to decode."""
    teacher, tcfg, xtr, ytr, xte, yte = setup()
    torch.manual_seed(CFG['extra_seed'])
    gen = torch.Generator().manual_seed(CFG['extra_seed'])
    names = [f'student-b{beta_tag(b)}' for b in BETAS] + ['channel-reduction']
    models, cks, qparams = {}, {}, {}
    for name in names:
        sk = torch.load(os.path.join(CKPT, f'{name}.pt'))
        if sk['eval']['top1'] < CFG['extra_skip_top1_below']:
            continue
        st = Student(tcfg['widths'], tcfg['blocks'], sk['cfg']['latent_ch'], name != 'channel-reduction')
        st.load_state_dict(sk['state'])
        models[name], cks[name] = st, sk
        if sk['qparams'] is not None:
            qparams[name] = tuple(torch.tensor(v) for v in sk['qparams'])
    log = open(os.path.join(LOGS, 'students.log'), 'a')

    def say(line):
        print(line, flush=True)
        log.write(line + '\n')
        log.flush()

    say(f'# stage2-extra: {CFG["extra_epochs"]} epochs, lr {CFG["extra_lr"]}, seed {CFG["extra_seed"]}, models {list(models)}')
    steps_per_epoch = 3 if SMOKE else len(xtr) // CFG['batch']
    if SMOKE:
        xte, yte = xte[:300], yte[:300]
    opts, scheds = {}, {}
    for name, st in models.items():
        for p in st.parameters():
            p.requires_grad_(False)
        params = list(st.decoder.parameters()) + list(st.stage3.parameters()) + list(st.fc.parameters())
        for p in params:
            p.requires_grad_(True)
        opts[name] = torch.optim.Adam(params, lr=CFG['extra_lr'])
        scheds[name] = torch.optim.lr_scheduler.OneCycleLR(
            opts[name], CFG['extra_lr'], total_steps=steps_per_epoch * CFG['extra_epochs'], pct_start=0.1)
    T = CFG['kd_temperature']
    t0 = time.time()
    for epoch in range(CFG['extra_epochs']):
        for st in models.values():
            st.train()
            st.encoder.eval()
        perm = torch.randperm(len(xtr), generator=gen)
        sums = {n: 0.0 for n in models}
        for k in range(steps_per_epoch):
            idx = perm[k * CFG['batch']:(k + 1) * CFG['batch']]
            xb = augment(xtr[idx], gen)
            with torch.no_grad():
                t_soft = F.log_softmax(teacher(xb) / T, 1)
            for name, st in models.items():
                with torch.no_grad():
                    yq = latent_for_tail(name, st, st.encoder(xb), qparams)
                logits = st.tail(st.decoder(yq))[1]
                kd = F.kl_div(F.log_softmax(logits / T, 1), t_soft, log_target=True, reduction='batchmean') * T * T
                loss = CFG['kd_weight'] * kd + CFG['ce_weight'] * F.cross_entropy(logits, ytr[idx])
                opts[name].zero_grad()
                loss.backward()
                opts[name].step()
                scheds[name].step()
                sums[name] += loss.item()
        ev = evaluate(models, teacher, xte, yte, qparams)
        for name in models:
            say(f'stage2-extra epoch {epoch + 1}/{CFG["extra_epochs"]} {name} loss {sums[name] / steps_per_epoch:.4f} '
                f'test_top1 {ev[name]["top1"]:.4f} test_bytes {ev[name]["bytes"]:.2f} elapsed_s {time.time() - t0:.0f}')
    for name, st in models.items():
        sk = cks[name]
        sk.update(state=st.state_dict(), cfg=CFG, eval=ev[name], train_seconds=sk['train_seconds'] + time.time() - t0)
        torch.save(sk, os.path.join(CKPT, f'{name}.pt'))
    log.close()


def train_main():
    torch.manual_seed(CFG['seed'])
    gen = torch.Generator().manual_seed(CFG['seed'])
    ck = torch.load(os.path.join(CKPT, 'teacher.pt'))
    tcfg = ck['cfg']
    teacher = Teacher(tcfg['widths'], tcfg['blocks'])
    teacher.load_state_dict(ck['state'])
    teacher.eval()
    for p in teacher.parameters():
        p.requires_grad_(False)
    mean, std = ck['mean'], ck['std']
    xtr_u8, ytr = load_split('train')
    xte_u8, yte = load_split('test')
    xtr, xte = to_input(xtr_u8, mean, std), to_input(xte_u8, mean, std)
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)

    models = {}
    for beta in BETAS:
        models[f'student-b{beta_tag(beta)}'] = Student(tcfg['widths'], tcfg['blocks'], CFG['latent_ch'], True)
    models['channel-reduction'] = Student(tcfg['widths'], tcfg['blocks'], CFG['latent_ch'], False)
    betas = {f'student-b{beta_tag(b)}': b for b in BETAS}
    for st in models.values():
        st.stage3.load_state_dict(teacher.stage3.state_dict())
        st.fc.load_state_dict(teacher.fc.state_dict())

    log = open(os.path.join(LOGS, 'students.log'), 'w')

    def say(line):
        print(line, flush=True)
        log.write(line + '\n')
        log.flush()

    with torch.no_grad():
        feat_var = teacher.stage2(teacher.stage1(teacher.stem(xtr[:5000]))).var().item()
    say(f'# teacher stage2 activation variance (first 5000 train images): {feat_var:.5f}')
    say(f'# students {json.dumps(CFG)} torch={torch.__version__} threads={torch.get_num_threads()}')
    steps_per_epoch = 3 if SMOKE else len(xtr) // CFG['batch']
    if SMOKE:
        xte, yte = xte[:300], yte[:300]
    t0 = time.time()

    # ---------------- stage 1: feature distillation + rate
    opts, scheds = {}, {}
    for name, st in models.items():
        params = list(st.encoder.parameters()) + list(st.decoder.parameters())
        if st.entropy_bottleneck is not None:
            params += list(st.entropy_bottleneck.parameters())
        opts[name] = torch.optim.Adam(params, lr=CFG['stage1_lr'])
        scheds[name] = torch.optim.lr_scheduler.OneCycleLR(
            opts[name], CFG['stage1_lr'], total_steps=steps_per_epoch * CFG['stage1_epochs'], pct_start=0.1)
    for epoch in range(CFG['stage1_epochs']):
        for st in models.values():
            st.train()
        perm = torch.randperm(len(xtr), generator=gen)
        sums = {n: [0.0, 0.0] for n in models}
        for k in range(steps_per_epoch):
            idx = perm[k * CFG['batch']:(k + 1) * CFG['batch']]
            xb = augment(xtr[idx], gen)
            with torch.no_grad():
                target = teacher.stage2(teacher.stage1(teacher.stem(xb)))
            for name, st in models.items():
                y = st.encoder(xb)
                if st.entropy_bottleneck is not None:
                    yt, lik = st.entropy_bottleneck(y, training=True)
                    rate = bits(lik).mean()
                else:
                    yt, rate = y, torch.zeros(())
                mse = F.mse_loss(st.decoder(yt), target)
                loss = mse / feat_var + betas.get(name, 0.0) * rate
                opts[name].zero_grad()
                loss.backward()
                opts[name].step()
                scheds[name].step()
                sums[name][0] += mse.item()
                sums[name][1] += rate.item()
        for st in models.values():
            if st.entropy_bottleneck is not None:
                st.entropy_bottleneck.update_medians()
        ev = evaluate({n: m for n, m in models.items() if m.entropy_bottleneck is not None}, teacher, xte, yte, {})
        for name in models:
            extra = f' test_top1 {ev[name]["top1"]:.4f} test_bytes {ev[name]["bytes"]:.2f}' if name in ev else ''
            say(f'stage1 epoch {epoch + 1}/{CFG["stage1_epochs"]} {name} mse {sums[name][0] / steps_per_epoch:.4f} '
                f'train_bits {sums[name][1] / steps_per_epoch:.1f}{extra} elapsed_s {time.time() - t0:.0f}')

    # channel reduction: per-channel 8-bit range from the (unaugmented) training latents
    qparams = {}
    with torch.no_grad():
        cr = models['channel-reduction']
        cr.eval()
        ys = torch.cat([cr.encoder(xtr[i:i + 2000]) for i in range(0, len(xtr), 2000)])
        lo = ys.amin(dim=(0, 2, 3)).clamp(max=0.0)
        hi = ys.amax(dim=(0, 2, 3)).clamp(min=0.0)
        scale = (hi - lo) / 255.0
        zp = torch.round(-lo / scale)
        qparams['channel-reduction'] = (scale, zp)

    # ---------------- stage 2: KD fine-tuning of decoder + tail, encoder/entropy frozen
    for name, st in models.items():
        for p in st.encoder.parameters():
            p.requires_grad_(False)
        if st.entropy_bottleneck is not None:
            for p in st.entropy_bottleneck.parameters():
                p.requires_grad_(False)
        params = list(st.decoder.parameters()) + list(st.stage3.parameters()) + list(st.fc.parameters())
        opts[name] = torch.optim.Adam(params, lr=CFG['stage2_lr'])
        scheds[name] = torch.optim.lr_scheduler.OneCycleLR(
            opts[name], CFG['stage2_lr'], total_steps=steps_per_epoch * CFG['stage2_epochs'], pct_start=0.1)
    T = CFG['kd_temperature']
    for epoch in range(CFG['stage2_epochs']):
        for st in models.values():
            st.train()
            st.encoder.eval()
        perm = torch.randperm(len(xtr), generator=gen)
        sums = {n: 0.0 for n in models}
        for k in range(steps_per_epoch):
            idx = perm[k * CFG['batch']:(k + 1) * CFG['batch']]
            xb = augment(xtr[idx], gen)
            with torch.no_grad():
                t_logits = teacher(xb)
                t_soft = F.log_softmax(t_logits / T, 1)
            for name, st in models.items():
                with torch.no_grad():
                    yq = latent_for_tail(name, st, st.encoder(xb), qparams)
                logits = st.tail(st.decoder(yq))[1]
                kd = F.kl_div(F.log_softmax(logits / T, 1), t_soft, log_target=True, reduction='batchmean') * T * T
                loss = CFG['kd_weight'] * kd + CFG['ce_weight'] * F.cross_entropy(logits, ytr[idx])
                opts[name].zero_grad()
                loss.backward()
                opts[name].step()
                scheds[name].step()
                sums[name] += loss.item()
        ev = evaluate(models, teacher, xte, yte, qparams)
        for name in models:
            say(f'stage2 epoch {epoch + 1}/{CFG["stage2_epochs"]} {name} loss {sums[name] / steps_per_epoch:.4f} '
                f'test_top1 {ev[name]["top1"]:.4f} test_bytes {ev[name]["bytes"]:.2f} elapsed_s {time.time() - t0:.0f}')

    # float (unquantised) accuracy of the channel-reduction model, for reference
    ev_float = evaluate({'channel-reduction': models['channel-reduction']}, teacher, xte, yte, {})
    say(f'channel-reduction float-latent test_top1 {ev_float["channel-reduction"]["top1"]:.4f}')
    for name, st in models.items():
        torch.save({'state': st.state_dict(), 'cfg': CFG, 'teacher_cfg': tcfg, 'beta': betas.get(name),
                    'qparams': [t.tolist() for t in qparams[name]] if name in qparams else None,
                    'eval': ev[name], 'train_seconds': time.time() - t0},
                   os.path.join(CKPT, f'{name}.pt'))
    log.close()


if __name__ == '__main__':
    main()
