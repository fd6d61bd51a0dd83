# The seed's PyTorch DeconvNet (seeds/003), every channel count scaled by WIDTH (the test's small
# copy), otherwise as written there. Run by real PyTorch; writes the weights, an input and the output.
import json
import struct
import sys

import torch
import torch.nn as nn

out = sys.argv[1]
cfg = json.load(open(f"{out}/cfg.json"))
WIDTH = cfg["width"]
SIZE = cfg["size"]
NUM_CLASSES = cfg["numClasses"]
ODD_H, ODD_W = cfg["odd"]


def ch(c):
    return max(1, round(c * WIDTH))


class DeconvNet(nn.Module):
    def __init__(self, num_classes):
        super(DeconvNet, self).__init__()

        def CBR(in_channels, out_channels, kernel_size=3, stride=1, padding=1):
            return nn.Sequential(
                nn.Conv2d(in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size, stride=stride, padding=padding),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
            )

        def DBR(in_channels, out_channels, kernel_size=3, stride=1, padding=1):
            return nn.Sequential(
                nn.ConvTranspose2d(in_channels=in_channels, out_channels=out_channels, kernel_size=kernel_size, stride=stride, padding=padding),
                nn.BatchNorm2d(out_channels),
                nn.ReLU(inplace=True),
            )

        self.conv1_1 = CBR(3, ch(64))
        self.conv1_2 = CBR(ch(64), ch(64))
        self.conv1_pool = nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True, return_indices=True)
        self.conv2_1 = CBR(ch(64), ch(128))
        self.conv2_2 = CBR(ch(128), ch(128))
        self.conv2_pool = nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True, return_indices=True)
        self.conv3_1 = CBR(ch(128), ch(256))
        self.conv3_2 = CBR(ch(256), ch(256))
        self.conv3_3 = CBR(ch(256), ch(256))
        self.conv3_pool = nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True, return_indices=True)
        self.conv4_1 = CBR(ch(256), ch(512))
        self.conv4_2 = CBR(ch(512), ch(512))
        self.conv4_3 = CBR(ch(512), ch(512))
        self.conv4_pool = nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True, return_indices=True)
        self.conv5_1 = CBR(ch(512), ch(512))
        self.conv5_2 = CBR(ch(512), ch(512))
        self.conv5_3 = CBR(ch(512), ch(512))
        self.conv5_pool = nn.MaxPool2d(kernel_size=2, stride=2, ceil_mode=True, return_indices=True)
        self.fc6_1 = CBR(ch(512), ch(4096), kernel_size=7, stride=1, padding=0)
        self.fc6_drop = nn.Dropout2d(0.2)
        self.fc7_1 = CBR(ch(4096), ch(4096), kernel_size=1, stride=1, padding=0)
        self.fc7_drop = nn.Dropout2d(0.2)
        self.D_fc6_1 = DBR(ch(4096), ch(512), kernel_size=7, stride=1, padding=0)
        self.D_conv5_unpool = nn.MaxUnpool2d(kernel_size=2, stride=2)
        self.D_conv5_1 = DBR(ch(512), ch(512))
        self.D_conv5_2 = DBR(ch(512), ch(512))
        self.D_conv5_3 = DBR(ch(512), ch(512))
        self.D_conv4_unpool = nn.MaxUnpool2d(kernel_size=2, stride=2)
        self.D_conv4_1 = DBR(ch(512), ch(512))
        self.D_conv4_2 = DBR(ch(512), ch(512))
        self.D_conv4_3 = DBR(ch(512), ch(256))
        self.D_conv3_unpool = nn.MaxUnpool2d(kernel_size=2, stride=2)
        self.D_conv3_1 = DBR(ch(256), ch(256))
        self.D_conv3_2 = DBR(ch(256), ch(256))
        self.D_conv3_3 = DBR(ch(256), ch(128))
        self.D_conv2_unpool = nn.MaxUnpool2d(kernel_size=2, stride=2)
        self.D_conv2_1 = DBR(ch(128), ch(128))
        self.D_conv2_2 = DBR(ch(128), ch(64))
        self.D_conv1_unpool = nn.MaxUnpool2d(kernel_size=2, stride=2)
        self.D_conv1_1 = DBR(ch(64), ch(64))
        self.D_conv1_2 = DBR(ch(64), ch(64))
        self.score = nn.Conv2d(ch(64), num_classes, kernel_size=1, stride=1, padding=0)

    def forward(self, x):
        x = self.conv1_1(x)
        x = self.conv1_2(x)
        x, conv1_pool_indices = self.conv1_pool(x)
        x = self.conv2_1(x)
        x = self.conv2_2(x)
        x, conv2_pool_indices = self.conv2_pool(x)
        x = self.conv3_1(x)
        x = self.conv3_2(x)
        x = self.conv3_3(x)
        x, conv3_pool_indices = self.conv3_pool(x)
        x = self.conv4_1(x)
        x = self.conv4_2(x)
        x = self.conv4_3(x)
        x, conv4_pool_indices = self.conv4_pool(x)
        x = self.conv5_1(x)
        x = self.conv5_2(x)
        x = self.conv5_3(x)
        x, conv5_pool_indices = self.conv5_pool(x)
        x = self.fc6_1(x)
        x = self.fc6_drop(x)
        x = self.fc7_1(x)
        x = self.fc7_drop(x)
        x = self.D_fc6_1(x)
        x = self.D_conv5_unpool(x, conv5_pool_indices)
        x = self.D_conv5_1(x)
        x = self.D_conv5_2(x)
        x = self.D_conv5_3(x)
        x = self.D_conv4_unpool(x, conv4_pool_indices)
        x = self.D_conv4_1(x)
        x = self.D_conv4_2(x)
        x = self.D_conv4_3(x)
        x = self.D_conv3_unpool(x, conv3_pool_indices)
        x = self.D_conv3_1(x)
        x = self.D_conv3_2(x)
        x = self.D_conv3_3(x)
        x = self.D_conv2_unpool(x, conv2_pool_indices)
        x = self.D_conv2_1(x)
        x = self.D_conv2_2(x)
        x = self.D_conv1_unpool(x, conv1_pool_indices)
        x = self.D_conv1_1(x)
        x = self.D_conv1_2(x)
        x = self.score(x)
        return x


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (length,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + length])
    out = {}
    for key, entry in header.items():
        start, end = entry["data_offsets"]
        data = bytearray(raw[8 + length + start : 8 + length + end])
        out[key] = torch.frombuffer(data, dtype=torch.float32).reshape(entry["shape"])
    return out


if cfg.get("check"):
    # Our export, loaded strictly into the seed's module, must give the reference output again.
    model = DeconvNet(NUM_CLASSES)
    model.load_state_dict(torch.load(f"{out}/exported.pth"), strict=True)
    model.eval()
    io = read_safetensors(f"{out}/io.safetensors")
    with torch.no_grad():
        y = model(io["x"].permute(0, 3, 1, 2).contiguous()).permute(0, 2, 3, 1)
    tracked = [k for k, v in model.state_dict().items() if k.endswith("num_batches_tracked") and v.dtype == torch.int64]
    print(json.dumps({"maxDiff": float((y - io["y"]).abs().max()), "tracked": len(tracked)}))
    sys.exit(0)

torch.manual_seed(0)
model = DeconvNet(NUM_CLASSES)
with torch.no_grad():
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            # Non-trivial affine parameters, and statistics measured below (cumulative average).
            m.momentum = None
            m.weight.uniform_(0.5, 1.5)
            m.bias.normal_(0.0, 0.2)
    model.train()
    for _ in range(3):
        model(torch.randn(4, 3, SIZE, SIZE))
    model.eval()
    x = torch.randn(2, 3, SIZE, SIZE)
    y = model(x)
    # The seed's MaxUnpool2d calls pass no output_size, which misplaces values wherever a pooled
    # size was odd (ceil mode). With the pre-pool size given, as ours does, odd sizes run too.
    pre_pool = {}
    for i in range(1, 6):
        pool = getattr(model, f"conv{i}_pool")
        pool.register_forward_pre_hook(lambda m, inp, i=i: pre_pool.__setitem__(i, inp[0].shape[-2:]))
        unpool = getattr(model, f"D_conv{i}_unpool")
        unpool.forward = lambda x, idx, i=i, f=unpool.forward: f(x, idx, output_size=pre_pool[i])
    odd_x = torch.randn(1, 3, ODD_H, ODD_W)
    odd_y = model(odd_x)

torch.save(model.state_dict(), f"{out}/deconvnet.pth")


def write_safetensors(path, tensors):
    header = {}
    blobs = []
    offset = 0
    for key, t in tensors.items():
        t = t.detach().contiguous()
        dtype = {torch.float32: "F32", torch.int64: "I64"}[t.dtype]
        data = t.numpy().tobytes()
        header[key] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


write_safetensors(f"{out}/deconvnet.safetensors", model.state_dict())
# Input and output, NHWC.
write_safetensors(
    f"{out}/io.safetensors",
    {
        "x": x.permute(0, 2, 3, 1),
        "y": y.permute(0, 2, 3, 1),
        "oddX": odd_x.permute(0, 2, 3, 1),
        "oddY": odd_y.permute(0, 2, 3, 1),
    },
)
print(json.dumps({"yStd": float(y.std()), "pixelStd": float(y.std(dim=(2, 3)).mean())}))
