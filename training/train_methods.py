"""Trains the SC2 benchmark's other methods (issue 18), one model per process:

  train_methods.py names                  every model, in the order train_methods.sh runs them
  train_methods.py prepare                the teacher's stage2 activations and logits (hyperprior students)
  train_methods.py train NAME             one model -> training/checkpoints/NAME.pt, log in training/logs/NAME.log

Models (rates set by lambda or beta; EPOCHS_* environment variables override the schedule):
- nic-fp-l<1000*lambda>, nic-hp-l<1000*lambda>: neural input codecs (factorized prior / scale
  hyperprior), trained on lambda * 255^2 * MSE + bits per pixel, then the synthesis fine-tuned
  on the rounded latent (MSE). The teacher is not involved in training.
- e2e-b<1000*beta>: End-to-End (Singh et al. 2020): the students' network from scratch, cross-
  entropy + beta * bits per image (additive noise), then decoder + tail fine-tuned on the
  rounded latent with cross-entropy. No teacher.
- hpstudent-b<1000*beta>: Entropic Student with a mean-scale hyperprior: stage 1 MSE to the
  teacher's stage2 activation / its variance + beta * bits (latent + side information), stage 2
  decoder + tail by KD on the rounded latent, as train_students.py does for the factorized ones.

The teacher is the committed one, rebuilt from models/teacher (methods.load_zoo_teacher); its
tail in the hyperprior students keeps the folded BatchNorm as a fixed affine map (eval mode).
"""
import json
import os
import sys
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import REPO, Student, augment, bits, load_split, logger, stage2_targets, to_input  # noqa: E402
from methods import HyperStudent, ImageCodec, load_zoo_teacher  # noqa: E402

CKPT = os.environ.get('ZOO_CKPT_DIR', os.path.join(REPO, 'training', 'checkpoints'))
SMOKE = os.environ.get('ZOO_SMOKE') == '1'
TARGETS = os.path.join(CKPT, 'teacher-targets-zoo.pt')


def _floats(var, default):
    return [float(v) for v in os.environ.get(var, default).split(',')]


NIC_LAMBDAS = _floats('NIC_LAMBDAS', '0.001,0.004,0.016,0.064')
E2E_BETAS = _floats('E2E_BETAS', '0.0001,0.0003,0.001,0.003')
HP_BETAS = _floats('HP_BETAS', '0.0001,0.0003,0.001')
CFG = dict(seed=3, batch=128, lr=2e-3, finetune_lr=1e-3,
           nic_epochs=int(os.environ.get('EPOCHS_NIC', 6)), nic_finetune_epochs=int(os.environ.get('EPOCHS_NIC_FT', 1)),
           e2e_epochs=int(os.environ.get('EPOCHS_E2E', 5)), e2e_finetune_epochs=int(os.environ.get('EPOCHS_E2E_FT', 1)),
           hp_stage1_epochs=int(os.environ.get('EPOCHS_HP1', 5)), hp_stage2_epochs=int(os.environ.get('EPOCHS_HP2', 12)),
           kd_temperature=4.0, kd_weight=0.5, ce_weight=0.5, latent_ch=16)


def tag(v):
    return '%g' % (v * 1000)


def model_names():
    return ([f'nic-fp-l{tag(v)}' for v in NIC_LAMBDAS] + [f'nic-hp-l{tag(v)}' for v in NIC_LAMBDAS]
            + [f'e2e-b{tag(v)}' for v in E2E_BETAS] + [f'hpstudent-b{tag(v)}' for v in HP_BETAS])


def parse(name):
    """(family, prior, rate parameter) of a model name."""
    fam, rest = name.rsplit('-', 1)
    value = float(rest[1:]) / 1000
    if fam == 'nic-fp':
        return 'nic', 'factorized', value
    if fam == 'nic-hp':
        return 'nic', 'hyperprior', value
    if fam == 'e2e':
        return 'e2e', 'factorized', value
    if fam == 'hpstudent':
        return 'hpstudent', 'hyperprior', value
    raise ValueError(name)


def one_cycle(params, lr, steps):
    opt = torch.optim.Adam(params, lr=lr)
    return opt, torch.optim.lr_scheduler.OneCycleLR(opt, lr, total_steps=max(steps, 1), pct_start=0.1)


def step(opt, sched, loss):
    """One optimiser step with the gradient norm clipped at 1 (GDN training can spike: an
    unclipped nic-fp-l2 diverged in its second epoch, training/logs/abandoned-unclipped.log)."""
    opt.zero_grad()
    loss.backward()
    torch.nn.utils.clip_grad_norm_([p for g in opt.param_groups for p in g['params']], 1.0)
    opt.step()
    sched.step()
    return loss.item()


def steps_per_epoch(n):
    return 3 if SMOKE else n // CFG['batch']


def data(mean, std):
    xtr_u8, ytr = load_split('train')
    xte_u8, yte = load_split('test')
    xtr, xte = to_input(xtr_u8, mean, std), to_input(xte_u8, mean, std)
    ytr, yte = torch.from_numpy(ytr), torch.from_numpy(yte)
    if SMOKE:
        xte, yte = xte[:300], yte[:300]
    return xtr, ytr, xte, yte


def update_medians(model):
    for m in model.modules():
        if m.__class__.__name__ == 'EntropyBottleneck':
            m.update_medians()


@torch.no_grad()
def eval_nic(model, teacher, xte, yte, mean, std):
    model.eval()
    correct, tot_bits, se = 0, 0.0, 0.0
    for i in range(0, len(xte), 1000):
        x = xte[i:i + 1000]
        rec, b, _ = model(x, False)
        rec = rec.clamp(0, 1)
        se += ((rec - (x * std + mean)) ** 2).mean(dim=(1, 2, 3)).sum().item()
        tot_bits += b.sum().item()
        correct += (teacher((rec - mean) / std).argmax(1) == yte[i:i + 1000]).sum().item()
    mse = se / len(xte)
    return dict(top1=correct / len(xte), bytes=tot_bits / len(xte) / 8, psnr=10 * torch.log10(torch.tensor(1.0 / mse)).item())


def train_nic(name):
    _, prior, lam = parse(name)
    torch.manual_seed(CFG['seed'])
    gen = torch.Generator().manual_seed(CFG['seed'])
    teacher, mean, std = load_zoo_teacher()
    xtr, _, xte, yte = data(mean, std)
    model = ImageCodec(prior, mean=mean, std=std)
    say = logger(name)
    say(f'# {name}: {prior} image codec, lambda {lam:g} {json.dumps(CFG)} torch={torch.__version__} threads={torch.get_num_threads()}')
    n, steps = len(xtr), steps_per_epoch(len(xtr))
    opt, sched = one_cycle(model.parameters(), CFG['lr'], steps * CFG['nic_epochs'])
    t0 = time.time()
    for epoch in range(CFG['nic_epochs']):
        model.train()
        perm = torch.randperm(n, generator=gen)
        s_mse, s_bits = 0.0, 0.0
        for k in range(steps):
            x = augment(xtr[perm[k * CFG['batch']:(k + 1) * CFG['batch']]], gen)
            rec, b, _ = model(x, True)
            mse = F.mse_loss(rec, x * std + mean)
            step(opt, sched, lam * 255 ** 2 * mse + b.mean() / 784)
            s_mse += mse.item()
            s_bits += b.mean().item()
        update_medians(model)
        ev = eval_nic(model, teacher, xte, yte, mean, std)
        say(f'epoch {epoch + 1}/{CFG["nic_epochs"]} mse {s_mse / steps:.5f} train_bits {s_bits / steps:.1f} test_psnr {ev["psnr"]:.2f} '
            f'test_bytes {ev["bytes"]:.2f} test_top1(teacher) {ev["top1"]:.4f} elapsed_s {time.time() - t0:.0f}')
    # synthesis fine-tuned on the rounded latent (what the receiver decodes), analysis and prior frozen
    model.eval()
    with torch.no_grad():
        lat = torch.cat([model(xtr[i:i + 2000], False)[2] for i in range(0, n, 2000)])
    params = [p for nm, p in model.named_parameters() if nm.startswith(('dec', 'igdn'))]
    opt, sched = one_cycle(params, CFG['finetune_lr'], steps * CFG['nic_finetune_epochs'])
    for epoch in range(CFG['nic_finetune_epochs']):
        perm = torch.randperm(n, generator=gen)
        s_mse = 0.0
        for k in range(steps):
            j = perm[k * CFG['batch']:(k + 1) * CFG['batch']]
            mse = F.mse_loss(model.decode(lat[j]), xtr[j] * std + mean)
            s_mse += step(opt, sched, mse)
        ev = eval_nic(model, teacher, xte, yte, mean, std)
        say(f'finetune epoch {epoch + 1}/{CFG["nic_finetune_epochs"]} mse {s_mse / steps:.5f} test_psnr {ev["psnr"]:.2f} '
            f'test_bytes {ev["bytes"]:.2f} test_top1(teacher) {ev["top1"]:.4f} elapsed_s {time.time() - t0:.0f}')
    torch.save({'state': model.state_dict(), 'cfg': CFG, 'prior': prior, 'lambda': lam, 'eval': ev,
                'train_seconds': time.time() - t0}, os.path.join(CKPT, f'{name}.pt'))


@torch.no_grad()
def eval_student(st, latent_fn, xte, yte):
    """top-1 and estimated bytes/image on the test set; latent_fn(x) -> (latent as decoded, bits)."""
    st.eval()
    correct, tot_bits = 0, 0.0
    for i in range(0, len(xte), 1000):
        y_hat, b = latent_fn(xte[i:i + 1000])
        tot_bits += b.sum().item()
        correct += (st.tail(st.decoder(y_hat))[1].argmax(1) == yte[i:i + 1000]).sum().item()
    return dict(top1=correct / len(xte), bytes=tot_bits / len(xte) / 8)


def flip_set(x, y):
    return torch.cat([x, x.flip(-1)]), torch.cat([y, y])


def finetune_tail(st, say, lat, y2, t_logits, xte, yte, latent_fn, epochs, gen, t0, what):
    """Decoder + tail on fixed (rounded) latents of the training images and their mirrors:
    cross-entropy alone, or KD on the teacher's logits + CE when t_logits is given."""
    n2 = len(lat)
    steps = steps_per_epoch(n2 // 2)
    params = list(st.decoder.parameters()) + list(st.stage3.parameters()) + list(st.fc.parameters())
    opt, sched = one_cycle(params, CFG['finetune_lr'], steps * epochs)
    T = CFG['kd_temperature']
    ev = None
    for epoch in range(epochs):
        st.train()
        if t_logits is not None:
            st.stage3.eval()  # the teacher's folded BatchNorm stays a fixed affine map
        perm = torch.randperm(n2, generator=gen)
        s_loss = 0.0
        for k in range(steps):
            j = perm[k * CFG['batch']:(k + 1) * CFG['batch']]
            logits = st.tail(st.decoder(lat[j]))[1]
            loss = F.cross_entropy(logits, y2[j])
            if t_logits is not None:
                kd = F.kl_div(F.log_softmax(logits / T, 1), F.log_softmax(t_logits[j] / T, 1), log_target=True,
                              reduction='batchmean') * T * T
                loss = CFG['kd_weight'] * kd + CFG['ce_weight'] * loss
            s_loss += step(opt, sched, loss)
        ev = eval_student(st, latent_fn, xte, yte)
        say(f'{what} epoch {epoch + 1}/{epochs} loss {s_loss / steps:.4f} test_top1 {ev["top1"]:.4f} test_bytes {ev["bytes"]:.2f} '
            f'elapsed_s {time.time() - t0:.0f}')
    return ev


def train_e2e(name):
    _, _, beta = parse(name)
    torch.manual_seed(CFG['seed'])
    gen = torch.Generator().manual_seed(CFG['seed'])
    teacher, mean, std = load_zoo_teacher()
    tw = json.load(open(os.path.join(REPO, 'models', 'teacher', 'meta.json')))['trainedWith']
    del teacher
    xtr, ytr, xte, yte = data(mean, std)
    st = Student(tw['widths'], tw['blocks'], CFG['latent_ch'], entropy=True)
    eb = st.entropy_bottleneck
    say = logger(name)
    say(f'# {name}: End-to-End, beta {beta:g}, no teacher {json.dumps(CFG)} torch={torch.__version__} threads={torch.get_num_threads()}')
    n, steps = len(xtr), steps_per_epoch(len(xtr))
    opt, sched = one_cycle(st.parameters(), CFG['lr'], steps * CFG['e2e_epochs'])

    def latent_fn(x):
        y_hat, lik = eb(st.encoder(x), training=False)
        return y_hat, bits(lik)
    t0 = time.time()
    for epoch in range(CFG['e2e_epochs']):
        st.train()
        perm = torch.randperm(n, generator=gen)
        s_ce, s_bits = 0.0, 0.0
        for k in range(steps):
            j = perm[k * CFG['batch']:(k + 1) * CFG['batch']]
            y_t, lik = eb(st.encoder(augment(xtr[j], gen)), training=True)
            b = bits(lik).mean()
            ce = F.cross_entropy(st.tail(st.decoder(y_t))[1], ytr[j])
            step(opt, sched, ce + beta * b)
            s_ce += ce.item()
            s_bits += b.item()
        update_medians(st)
        ev = eval_student(st, latent_fn, xte, yte)
        say(f'epoch {epoch + 1}/{CFG["e2e_epochs"]} ce {s_ce / steps:.4f} train_bits {s_bits / steps:.1f} test_top1 {ev["top1"]:.4f} '
            f'test_bytes {ev["bytes"]:.2f} elapsed_s {time.time() - t0:.0f}')
    for p in list(st.encoder.parameters()) + list(eb.parameters()):
        p.requires_grad_(False)
    st.eval()
    x2, y2 = flip_set(xtr, ytr)
    with torch.no_grad():
        lat = torch.cat([eb.quantize(st.encoder(x2[i:i + 2000])) for i in range(0, len(x2), 2000)])
    ev = finetune_tail(st, say, lat, y2, None, xte, yte, latent_fn, CFG['e2e_finetune_epochs'], gen, t0, 'finetune (rounded latent, CE)')
    torch.save({'state': st.state_dict(), 'cfg': CFG, 'beta': beta, 'teacher_cfg': tw, 'eval': ev,
                'train_seconds': time.time() - t0}, os.path.join(CKPT, f'{name}.pt'))


def prepare():
    """Teacher stage2 activations (float16) and logits of every training image and its mirror."""
    teacher, mean, std = load_zoo_teacher()
    xtr, ytr, _, _ = data(mean, std)
    x2, _ = flip_set(xtr, ytr)
    t0 = time.time()
    feats, logits, var = stage2_targets(teacher, x2)
    os.makedirs(CKPT, exist_ok=True)
    torch.save({'feats': feats, 'logits': logits, 'var': var}, TARGETS)
    print(f'teacher targets for {len(x2)} images (variance {var:.5f}) in {time.time() - t0:.0f} s', flush=True)


def train_hpstudent(name):
    _, _, beta = parse(name)
    torch.manual_seed(CFG['seed'])
    gen = torch.Generator().manual_seed(CFG['seed'])
    teacher, mean, std = load_zoo_teacher()
    tw = json.load(open(os.path.join(REPO, 'models', 'teacher', 'meta.json')))['trainedWith']
    xtr, ytr, xte, yte = data(mean, std)
    st = Student(tw['widths'], tw['blocks'], CFG['latent_ch'], entropy=False)
    st.stage3.load_state_dict(teacher.stage3.state_dict())
    st.fc.load_state_dict(teacher.fc.state_dict())
    for m in st.stage3.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.eps = 0.0
    del teacher
    hs = HyperStudent(st)
    tg = torch.load(TARGETS)
    feats, t_logits, var = tg['feats'], tg['logits'], tg['var']
    x2, y2 = flip_set(xtr, ytr)
    n = len(xtr)
    say = logger(name)
    say(f'# {name}: mean-scale hyperprior student, beta {beta:g} {json.dumps(CFG)} torch={torch.__version__} '
        f'threads={torch.get_num_threads()} teacher stage2 variance {var:.5f}')
    steps = steps_per_epoch(n)
    params = list(st.encoder.parameters()) + list(st.decoder.parameters()) + list(hs.hyper.parameters())
    opt, sched = one_cycle(params, CFG['lr'], steps * CFG['hp_stage1_epochs'])

    def latent_fn(x):
        return hs.forward_latent(x, False)
    t0 = time.time()
    for epoch in range(CFG['hp_stage1_epochs']):
        st.train()
        hs.train()
        perm = torch.randperm(n, generator=gen)
        j_all = perm + n * torch.randint(0, 2, (n,), generator=gen)[perm]
        s_mse, s_bits = 0.0, 0.0
        for k in range(steps):
            j = j_all[k * CFG['batch']:(k + 1) * CFG['batch']]
            y_t, b = hs.forward_latent(x2[j], True)
            mse = F.mse_loss(st.decoder(y_t), feats[j].float())
            step(opt, sched, mse / var + beta * b.mean())
            s_mse += mse.item()
            s_bits += b.mean().item()
        update_medians(hs)
        ev = eval_student(st, latent_fn, xte, yte)
        say(f'stage1 epoch {epoch + 1}/{CFG["hp_stage1_epochs"]} mse {s_mse / steps:.4f} train_bits {s_bits / steps:.1f} '
            f'test_top1(teacher tail) {ev["top1"]:.4f} test_bytes {ev["bytes"]:.2f} elapsed_s {time.time() - t0:.0f}')
    del feats
    for p in list(st.encoder.parameters()) + list(hs.hyper.parameters()):
        p.requires_grad_(False)
    hs.eval()
    with torch.no_grad():
        lat = torch.cat([hs.forward_latent(x2[i:i + 2000], False)[0] for i in range(0, len(x2), 2000)])
    ev = finetune_tail(st, say, lat, y2, t_logits, xte, yte, latent_fn, CFG['hp_stage2_epochs'], gen, t0, 'stage2 (KD)')
    torch.save({'state': hs.state_dict(), 'cfg': CFG, 'beta': beta, 'teacher_cfg': tw, 'eval': ev,
                'train_seconds': time.time() - t0}, os.path.join(CKPT, f'{name}.pt'))


def main():
    torch.set_num_threads(int(os.environ.get('TRAIN_THREADS', 1)))
    os.makedirs(CKPT, exist_ok=True)
    cmd = sys.argv[1] if len(sys.argv) > 1 else ''
    if cmd == 'names':
        print('\n'.join(model_names()))
    elif cmd == 'prepare':
        prepare()
    elif cmd == 'train' and len(sys.argv) == 3:
        name = sys.argv[2]
        fam = parse(name)[0]
        {'nic': train_nic, 'e2e': train_e2e, 'hpstudent': train_hpstudent}[fam](name)
    else:
        sys.exit('usage: train_methods.py names | prepare | train NAME')


if __name__ == '__main__':
    main()
