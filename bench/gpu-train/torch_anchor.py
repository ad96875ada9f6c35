"""PyTorch ResNet50 anchor on the same GPU: training and inference img/s at 224, fp32, channels-last.

Plain torch (no torchvision needed): Keras-style ResNet50 v1.5 bottlenecks, BN, Adam, cross-entropy.
Usage: python3 torch_anchor.py [--batch 32] [--steps 20] > torch.json
"""
import argparse, json, time
import torch, torch.nn as nn


class Bottleneck(nn.Module):
    def __init__(self, cin, f, stride, proj):
        super().__init__()
        self.c1 = nn.Conv2d(cin, f, 1, bias=False); self.b1 = nn.BatchNorm2d(f)
        self.c2 = nn.Conv2d(f, f, 3, stride, 1, bias=False); self.b2 = nn.BatchNorm2d(f)
        self.c3 = nn.Conv2d(f, 4 * f, 1, bias=False); self.b3 = nn.BatchNorm2d(4 * f)
        self.sc = nn.Sequential(nn.Conv2d(cin, 4 * f, 1, stride, bias=False), nn.BatchNorm2d(4 * f)) if proj else nn.Identity()
        self.r = nn.ReLU(inplace=True)

    def forward(self, x):
        y = self.r(self.b1(self.c1(x)))
        y = self.r(self.b2(self.c2(y)))
        y = self.b3(self.c3(y))
        return self.r(y + self.sc(x))


def resnet50(classes=2):
    layers = [nn.Conv2d(3, 64, 7, 2, 3, bias=False), nn.BatchNorm2d(64), nn.ReLU(inplace=True), nn.MaxPool2d(3, 2, 1)]
    cin = 64
    for f, n, s in [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]:
        for i in range(n):
            layers.append(Bottleneck(cin, f, s if i == 0 else 1, i == 0)); cin = 4 * f
    layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(cin, classes)]
    return nn.Sequential(*layers)


def main():
    p = argparse.ArgumentParser(); p.add_argument('--batch', type=int, default=32); p.add_argument('--steps', type=int, default=20)
    a = p.parse_args()
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = False; torch.backends.cudnn.allow_tf32 = False  # true fp32
    dev = 'cuda'
    m = resnet50().to(dev).to(memory_format=torch.channels_last)
    x = torch.randn(a.batch, 3, 224, 224, device=dev).to(memory_format=torch.channels_last)
    y = torch.randint(0, 2, (a.batch,), device=dev)
    opt = torch.optim.Adam(m.parameters(), lr=1e-4)
    lossf = nn.CrossEntropyLoss()
    def step():
        opt.zero_grad(set_to_none=True); l = lossf(m(x), y); l.backward(); opt.step()
    m.train()
    for _ in range(5): step()
    torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(a.steps): step()
    torch.cuda.synchronize(); train = a.batch * a.steps / (time.perf_counter() - t)
    m.eval()
    with torch.no_grad():
        for _ in range(5): m(x)
        torch.cuda.synchronize(); t = time.perf_counter()
        for _ in range(a.steps * 2): m(x)
        torch.cuda.synchronize(); infer = a.batch * a.steps * 2 / (time.perf_counter() - t)
    # tf32 allowed (PyTorch's default for cuDNN convolutions), for reference
    torch.backends.cudnn.allow_tf32 = True; m.train()
    for _ in range(3): step()
    torch.cuda.synchronize(); t = time.perf_counter()
    for _ in range(a.steps): step()
    torch.cuda.synchronize(); train_tf32 = a.batch * a.steps / (time.perf_counter() - t)
    print(json.dumps({'device': torch.cuda.get_device_name(0), 'torch': torch.__version__, 'batch': a.batch,
                      'train_img_s_fp32': train, 'infer_img_s_fp32': infer, 'train_img_s_cudnn_tf32': train_tf32}))


if __name__ == '__main__':
    main()
