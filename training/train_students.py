"""SC2-style students and the channel-reduction baseline.

`train_students.py prepare` runs the frozen teacher once over the training set and its mirror
image and stores its stage2 activations (float16) and logits: the students' stage-1 targets
and stage-2 soft labels. `train_students.py train NAME` then trains one model from them, so
several models can train in parallel processes (train.sh runs two).

Stage 1: encoder (+ entropy bottleneck) + decoder learn to reproduce the teacher's stage2
activation (MSE divided by its variance) while paying beta * bits of the latent (additive
uniform noise); the teacher's tail is not involved. Stage 2: encoder and entropy model frozen,
latent quantised as at inference; decoder and tail (initialised from the teacher's stage3 and
fc) fine-tuned with knowledge distillation on the teacher's logits plus cross-entropy.
Augmentation is a random horizontal flip (the teacher's outputs are stored for both
orientations; random crops would need a teacher forward per step, which cost more than a
student step on this CPU)."""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import (DECODER_LAYERS, DECODER_NARROW, ENCODER_LAYERS, REPO, Student, Teacher,  # noqa: E402
                    bits, load_split, logger, stage2_targets, to_input)

BETAS = [float(b) for b in os.environ.get('STUDENT_BETAS', '0.0001,0.00015,0.0003,0.001').split(',')]
CFG = dict(seed=2, latent_ch=16, batch=128, stage1_epochs=int(os.environ.get('STAGE1_EPOCHS', 5)),
           stage2_epochs=int(os.environ.get('STAGE2_EPOCHS', 12)), stage1_lr=2e-3, stage2_lr=1e-3,
           kd_temperature=4.0, kd_weight=0.5, ce_weight=0.5, aug='hflip',
           refit_epochs=int(os.environ.get('REFIT_EPOCHS', 5)), refit_lr=2e-3, refit_batch=500, refit_seed=13,
           rate_unit='bits per image', distortion='MSE to teacher stage2 activation / its variance',
           encoder_layers=ENCODER_LAYERS, decoder_layers=DECODER_LAYERS, decoder_narrow=DECODER_NARROW)
CKPT = os.environ.get('ZOO_CKPT_DIR', os.path.join(REPO, 'training', 'checkpoints'))
SMOKE = os.environ.get('ZOO_SMOKE') == '1'  # a few steps only, to check the code path
TARGETS = os.path.join(CKPT, 'teacher-targets.pt')


def beta_tag(beta):
    """Model name tag: beta in units of 1e-3 (student-b1 has beta = 0.001)."""
    return '%g' % (beta * 1000)


def model_names():
    """Every model this script trains, in the order train.sh runs them."""
    return [f'student-b{beta_tag(b)}' for b in BETAS] + ['channel-reduction']


def quant8(y, scale, zp):
    """Per-channel 8-bit quantise-dequantise of the channel-reduction latent."""
    s, z = scale.view(1, -1, 1, 1), zp.view(1, -1, 1, 1)
    q = torch.clamp(torch.round(y / s) + z, 0, 255)
    return (q - z) * s


def load_teacher():
    ck = torch.load(os.path.join(CKPT, 'teacher.pt'))
    teacher = Teacher(ck['cfg']['widths'], ck['cfg']['blocks'])
    teacher.load_state_dict(ck['state'])
    teacher.eval()
    return teacher, ck


def train_inputs(ck):
    """Training images and their mirror images, [2N,1,28,28], and labels [2N]."""
    xtr_u8, ytr = load_split('train')
    x = to_input(xtr_u8, ck['mean'], ck['std'])
    y = torch.from_numpy(ytr)
    return torch.cat([x, x.flip(-1)]), torch.cat([y, y])


def prepare():
    """Teacher stage2 activations (float16) and logits for every training image and its mirror."""
    teacher, ck = load_teacher()
    x2, _ = train_inputs(ck)
    t0 = time.time()
    feats, logits, var = stage2_targets(teacher, x2)
    torch.save({'feats': feats, 'logits': logits, 'var': var}, TARGETS)
    print(f'teacher targets for {len(x2)} images (variance {var:.5f}) in {time.time() - t0:.0f} s', flush=True)


def evaluate(st, xte, yte, qparams, batch=1000):
    """top-1 (quantised latent) and mean estimated bytes per image on the test set."""
    st.eval()
    correct, tot_bits = 0, 0.0
    with torch.no_grad():
        for i in range(0, len(xte), batch):
            y = st.encoder(xte[i:i + batch])
            if st.entropy_bottleneck is not None:
                yq, lik = st.entropy_bottleneck(y, training=False)
                tot_bits += bits(lik).sum().item()
            else:
                yq = quant8(y, *qparams) if qparams is not None else y
            logits = st.tail(st.decoder(yq))[1]
            correct += (logits.argmax(1) == yte[i:i + batch]).sum().item()
    return dict(top1=correct / len(xte), bytes=tot_bits / len(xte) / 8)


def optimise(opt, loss, sched=None):
    """One optimiser step on `loss` (and one scheduler step); returns the loss value."""
    opt.zero_grad()
    loss.backward()
    opt.step()
    if sched is not None:
        sched.step()
    return loss.item()


def one_cycle(params, lr, steps):
    opt = torch.optim.Adam(params, lr=lr)
    return opt, torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=steps, pct_start=0.1)


def setup(name):
    """Teacher, data and a fresh student (tail initialised from the teacher) for model `name`."""
    teacher, ck = load_teacher()
    for p in teacher.parameters():
        p.requires_grad_(False)
    tcfg = ck['cfg']
    x2, y2 = train_inputs(ck)
    xte_u8, yte = load_split('test')
    xte, yte = to_input(xte_u8, ck['mean'], ck['std']), torch.from_numpy(yte)
    entropy = name != 'channel-reduction'
    beta = float(name[len('student-b'):]) / 1000 if entropy else 0.0
    st = Student(tcfg['widths'], tcfg['blocks'], CFG['latent_ch'], entropy)
    st.stage3.load_state_dict(teacher.stage3.state_dict())
    st.fc.load_state_dict(teacher.fc.state_dict())
    if SMOKE:
        xte, yte = xte[:300], yte[:300]
    return dict(teacher=teacher, tcfg=tcfg, x2=x2, y2=y2, n=len(x2) // 2, xte=xte, yte=yte,
                entropy=entropy, beta=beta, st=st)


def steps_per_epoch(n):
    return 3 if SMOKE else n // CFG['batch']


def stage1(name):
    """Feature distillation + beta * rate; saves <name>-stage1.pt."""
    torch.manual_seed(CFG['seed'])
    gen = torch.Generator().manual_seed(CFG['seed'])
    S = setup(name)
    st, x2, n, entropy, beta = S['st'], S['x2'], S['n'], S['entropy'], S['beta']
    tg = torch.load(TARGETS)
    feats, feat_var = tg['feats'], tg['var']
    say = logger(name, 'w')
    say(f'# {name} beta {beta:g} {json.dumps(CFG)} torch={torch.__version__} threads={torch.get_num_threads()} '
        f'teacher stage2 variance {feat_var:.5f}')
    steps = steps_per_epoch(n)
    t0 = time.time()
    params = list(st.encoder.parameters()) + list(st.decoder.parameters())
    if entropy:
        params += list(st.entropy_bottleneck.parameters())
    opt, sched = one_cycle(params, CFG['stage1_lr'], steps * CFG['stage1_epochs'])
    for epoch in range(CFG['stage1_epochs']):
        st.train()
        s_mse, s_bits = 0.0, 0.0
        order = flip_order(gen, n)
        for k in range(steps):
            j = order[k * CFG['batch']:(k + 1) * CFG['batch']]
            y = st.encoder(x2[j])
            if entropy:
                yt, lik = st.entropy_bottleneck(y, training=True)
                rate = bits(lik).mean()
            else:
                yt, rate = y, torch.zeros(())
            mse = F.mse_loss(st.decoder(yt), feats[j].float())
            loss = mse / feat_var + beta * rate
            optimise(opt, loss, sched)
            s_mse += mse.item()
            s_bits += rate.item()
        extra = ''
        if entropy:
            st.entropy_bottleneck.update_medians()
            ev = evaluate(st, S['xte'], S['yte'], None)
            extra = f' test_top1(teacher tail) {ev["top1"]:.4f} test_bytes {ev["bytes"]:.2f}'
        say(f'stage1 epoch {epoch + 1}/{CFG["stage1_epochs"]} mse {s_mse / steps:.4f} train_bits {s_bits / steps:.1f}'
            f'{extra} elapsed_s {time.time() - t0:.0f}')
    torch.save({'state': st.state_dict(), 'cfg': CFG, 'beta': beta if entropy else None,
                'stage1_seconds': time.time() - t0}, os.path.join(CKPT, f'{name}-stage1.pt'))


def flip_order(gen, n):
    """One epoch's batch order: a permutation of the images, each mirrored or not (an index
    into the doubled set)."""
    perm = torch.randperm(n, generator=gen)
    flip = torch.randint(0, 2, (n,), generator=gen)
    return perm + n * flip[perm]


def stage2(name):
    """Encoder and entropy model frozen; decoder + tail trained by KD on the teacher's logits.
    The latents of every training image and its mirror are computed once. The batch order
    continues stage 1's generator (replayed here), so `train` in one go and `stage1` then
    `stage2` in two processes give the same model."""
    S = setup(name)
    st, x2, y2, n, entropy = S['st'], S['x2'], S['y2'], S['n'], S['entropy']
    del S['teacher']
    s1 = torch.load(os.path.join(CKPT, f'{name}-stage1.pt'))
    st.load_state_dict(s1['state'])
    t_logits = torch.load(TARGETS)['logits']
    gen = torch.Generator().manual_seed(CFG['seed'])
    for _ in range(CFG['stage1_epochs']):
        flip_order(gen, n)
    say = logger(name, 'a')
    say(f'# stage2: {CFG["stage2_epochs"]} epochs, lr {CFG["stage2_lr"]}')
    for p in list(st.encoder.parameters()) + (list(st.entropy_bottleneck.parameters()) if entropy else []):
        p.requires_grad_(False)
    st.eval()
    with torch.no_grad():
        ys = torch.cat([st.encoder(x2[i:i + 2000]) for i in range(0, len(x2), 2000)])
    qparams = None
    if entropy:
        latents = st.entropy_bottleneck.quantize(ys)
    else:
        # per-channel 8-bit range from the training latents (unmirrored images)
        lo = ys[:n].amin(dim=(0, 2, 3)).clamp(max=0.0)
        hi = ys[:n].amax(dim=(0, 2, 3)).clamp(min=0.0)
        scale = (hi - lo) / 255.0
        qparams = (scale, torch.round(-lo / scale))
        latents = quant8(ys, *qparams)
    del ys
    steps = steps_per_epoch(n)
    params = list(st.decoder.parameters()) + list(st.stage3.parameters()) + list(st.fc.parameters())
    opt, sched = one_cycle(params, CFG['stage2_lr'], steps * CFG['stage2_epochs'])
    T = CFG['kd_temperature']
    t0 = time.time()
    stop_after = int(os.environ.get('STAGE2_STOP_AFTER', CFG['stage2_epochs']))  # a reproduction check
    for epoch in range(min(stop_after, CFG['stage2_epochs'])):
        st.train()
        s_loss = 0.0
        order = flip_order(gen, n)
        for k in range(steps):
            j = order[k * CFG['batch']:(k + 1) * CFG['batch']]
            logits = st.tail(st.decoder(latents[j]))[1]
            t_soft = F.log_softmax(t_logits[j] / T, 1)
            kd = F.kl_div(F.log_softmax(logits / T, 1), t_soft, log_target=True, reduction='batchmean') * T * T
            loss = CFG['kd_weight'] * kd + CFG['ce_weight'] * F.cross_entropy(logits, y2[j])
            s_loss += optimise(opt, loss, sched)
        ev = evaluate(st, S['xte'], S['yte'], qparams)
        say(f'stage2 epoch {epoch + 1}/{CFG["stage2_epochs"]} loss {s_loss / steps:.4f} test_top1 {ev["top1"]:.4f} '
            f'test_bytes {ev["bytes"]:.2f} elapsed_s {time.time() - t0:.0f}')
    if stop_after < CFG['stage2_epochs']:
        return
    if not entropy:
        ev_float = evaluate(st, S['xte'], S['yte'], None)
        say(f'float-latent test_top1 {ev_float["top1"]:.4f}')
    torch.save({'state': st.state_dict(), 'cfg': CFG, 'teacher_cfg': S['tcfg'], 'beta': S['beta'] if entropy else None,
                'qparams': [t.tolist() for t in qparams] if qparams is not None else None,
                'eval': ev, 'train_seconds': s1['stage1_seconds'] + time.time() - t0},
               os.path.join(CKPT, f'{name}.pt'))


def refit(name):
    """Entropy-model refit (students only): the factorized prior is trained under additive
    uniform noise, but what is coded is the rounded latent, so its densities fit the coded
    symbols imperfectly. With the encoder frozen and the medians (hence every latent symbol and
    the model's accuracy) fixed, the per-channel densities are trained further by maximum
    likelihood of the rounded training latents. Changes only the rate and the CDF tables."""
    if name == 'channel-reduction':
        return
    S = setup(name)
    st, x2, n = S['st'], S['x2'], S['n']
    del S['teacher']
    path = os.path.join(CKPT, f'{name}.pt')
    sk = torch.load(path)
    st.load_state_dict(sk['state'])
    st.eval()
    eb = st.entropy_bottleneck
    with torch.no_grad():
        yq = torch.cat([eb.quantize(st.encoder(x2[i:i + 2000])) for i in range(0, n, 2000)])
    before = evaluate(st, S['xte'], S['yte'], None)
    say = logger(name, 'a')
    say(f'# refit: {CFG["refit_epochs"]} epochs, Adam lr {CFG["refit_lr"]}, batch {CFG["refit_batch"]} images; '
        f'before: test_top1 {before["top1"]:.4f} test_bytes {before["bytes"]:.2f}')
    gen = torch.Generator().manual_seed(CFG['refit_seed'])
    opt = torch.optim.Adam(eb.parameters(), lr=CFG['refit_lr'])
    steps = 3 if SMOKE else n // CFG['refit_batch']
    t0 = time.time()
    for epoch in range(CFG['refit_epochs']):
        perm = torch.randperm(n, generator=gen)
        s_bits = 0.0
        for k in range(steps):
            rate = bits(eb.likelihood(yq[perm[k * CFG['refit_batch']:(k + 1) * CFG['refit_batch']]])).mean()
            s_bits += optimise(opt, rate)
        ev = evaluate(st, S['xte'], S['yte'], None)
        say(f'refit epoch {epoch + 1}/{CFG["refit_epochs"]} train_bytes {s_bits / steps / 8:.2f} test_top1 {ev["top1"]:.4f} '
            f'test_bytes {ev["bytes"]:.2f} elapsed_s {time.time() - t0:.0f}')
    assert ev['top1'] == before['top1'], 'the refit must not change the latent symbols'
    sk.update(state=st.state_dict(), cfg=CFG, eval=ev, train_seconds=sk['train_seconds'] + time.time() - t0,
              bytes_before_refit=before['bytes'])
    torch.save(sk, path)


def main():
    torch.set_num_threads(int(os.environ.get('TRAIN_THREADS', 1)))
    cmd = sys.argv[1] if len(sys.argv) > 1 else ''
    if cmd == 'prepare':
        prepare()
    elif cmd in ('train', 'stage1', 'stage2', 'refit') and len(sys.argv) == 3 and sys.argv[2] in model_names():
        if cmd in ('train', 'stage1'):
            stage1(sys.argv[2])
        if cmd in ('train', 'stage2'):
            stage2(sys.argv[2])
        if cmd in ('train', 'refit'):
            refit(sys.argv[2])
    elif cmd == 'names':
        print('\n'.join(model_names()))
    else:
        sys.exit(f'usage: train_students.py prepare | names | train|stage1|stage2|refit {{{"|".join(model_names())}}}')


if __name__ == '__main__':
    main()
