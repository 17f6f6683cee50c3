"""Stage 0 of the zoo: train the ResNet-style teacher on Fashion-MNIST (CPU is enough)."""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import REPO, Teacher, augment, load_split, to_input  # noqa: E402

CFG = dict(seed=1, widths=[16, 32, 64], blocks=[1, 1, 1], epochs=int(os.environ.get('TEACHER_EPOCHS', 10)),
           batch=128, max_lr=0.1, weight_decay=5e-4, momentum=0.9, label_smoothing=0.05, aug='crop(pad2)+hflip',
           finetune_epochs=int(os.environ.get('TEACHER_FINETUNE_EPOCHS', 4)), finetune_lr=0.03, finetune_seed=11,
           finetune_aug='crop(pad1)+hflip')
CKPT = os.path.join(REPO, 'training', 'checkpoints')


def evaluate(model, x, y, batch=1000):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            correct += (model(x[i:i + batch]).argmax(1) == y[i:i + batch]).sum().item()
    return correct / len(x)


def load_data():
    xtr_u8, ytr = load_split('train')
    xte_u8, yte = load_split('test')
    mean = float(xtr_u8.mean() / 255.0)
    std = float((xtr_u8 / 255.0).std())
    xtr, xte = to_input(xtr_u8, mean, std), to_input(xte_u8, mean, std)
    return xtr, torch.from_numpy(ytr), xte, torch.from_numpy(yte), mean, std


def train_epochs(model, opt, sched, epochs, gen, data, log, tag, t0, pad=2):
    xtr, ytr, xte, yte = data
    acc = None
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        tot, n = 0.0, 0
        for i in range(0, len(xtr) - CFG['batch'] + 1, CFG['batch']):
            idx = perm[i:i + CFG['batch']]
            xb = augment(xtr[idx], gen, pad)
            loss = F.cross_entropy(model(xb), ytr[idx], label_smoothing=CFG['label_smoothing'])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            tot += loss.item() * len(idx)
            n += len(idx)
        acc = evaluate(model, xte, yte)
        line = f'{tag}epoch {epoch + 1}/{epochs} loss {tot / n:.4f} test_top1 {acc:.4f} elapsed_s {time.time() - t0:.0f}'
        print(line, flush=True)
        log.write(line + '\n')
        log.flush()
    return acc


def finetune(data, log):
    """Phase 2: a short low-LR cosine anneal from the phase-1 weights (own seed)."""
    ck = torch.load(os.path.join(CKPT, 'teacher-phase1.pt'))
    torch.manual_seed(CFG['finetune_seed'])
    gen = torch.Generator().manual_seed(CFG['finetune_seed'])
    model = Teacher(CFG['widths'], CFG['blocks'])
    model.load_state_dict(ck['state'])
    opt = torch.optim.SGD(model.parameters(), lr=CFG['finetune_lr'], momentum=CFG['momentum'], nesterov=True,
                          weight_decay=CFG['weight_decay'])
    steps = (len(data[0]) // CFG['batch']) * CFG['finetune_epochs']
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    t0 = time.time()
    log.write(f'# phase 2: {CFG["finetune_epochs"]} epochs, SGD lr {CFG["finetune_lr"]} cosine to 0, seed {CFG["finetune_seed"]}\n')
    acc = train_epochs(model, opt, sched, CFG['finetune_epochs'], gen, data, log, 'finetune ', t0, pad=1)
    return model, acc, time.time() - t0 + ck['train_seconds']


def main():
    torch.set_num_threads(int(os.environ.get('TRAIN_THREADS', 1)))
    xtr, ytr, xte, yte, mean, std = load_data()
    data = (xtr, ytr, xte, yte)
    os.makedirs(CKPT, exist_ok=True)
    phase = os.environ.get('TEACHER_PHASE', 'all')
    if phase in ('all', 'main'):
        train_main(data, mean, std)
    if phase in ('all', 'finetune') and CFG['finetune_epochs'] > 0:
        with open(os.path.join(REPO, 'training', 'logs', 'teacher.log'), 'a') as log:
            model, acc, secs = finetune(data, log)
        torch.save({'state': model.state_dict(), 'cfg': CFG, 'mean': mean, 'std': std, 'top1': acc,
                    'train_seconds': secs}, os.path.join(CKPT, 'teacher.pt'))
    elif phase in ('all', 'main'):
        import shutil
        shutil.copy(os.path.join(CKPT, 'teacher-phase1.pt'), os.path.join(CKPT, 'teacher.pt'))


def train_main(data, mean, std):
    """Phase 1: OneCycle SGD from scratch."""
    xtr = data[0]
    torch.manual_seed(CFG['seed'])
    gen = torch.Generator().manual_seed(CFG['seed'])
    model = Teacher(CFG['widths'], CFG['blocks'])
    opt = torch.optim.SGD(model.parameters(), lr=CFG['max_lr'], momentum=CFG['momentum'], nesterov=True,
                          weight_decay=CFG['weight_decay'])
    steps = (len(xtr) // CFG['batch']) * CFG['epochs']
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, CFG['max_lr'], total_steps=steps, pct_start=0.2)
    with open(os.path.join(REPO, 'training', 'logs', 'teacher.log'), 'w') as log:
        log.write(f'# teacher {json.dumps(CFG)} torch={torch.__version__} threads={torch.get_num_threads()}\n')
        t0 = time.time()
        acc = train_epochs(model, opt, sched, CFG['epochs'], gen, data, log, '', t0)
    torch.save({'state': model.state_dict(), 'cfg': CFG, 'mean': mean, 'std': std, 'top1': acc,
                'train_seconds': time.time() - t0}, os.path.join(CKPT, 'teacher-phase1.pt'))


if __name__ == '__main__':
    main()
