exec(open('analyse.py').read().split("key=[k")[0])
from PIL import Image, ImageDraw
import random
b1=reads[('svtrv2+beam','s1')]; b2=reads[('svtrv2+beam','s2')]
rd=[f for f in b1 if b1[f][2] and b2[f][2]]
ms=[f for f in b1 if not b1[f][2] and not b2[f][2]]
random.seed(1); rd=random.sample(rd,10); ms=random.sample(ms,10)
for name,fs in (('read',rd),('missed',ms)):
    W,H=260,106
    out=Image.new('RGB',(2*W+10,5*(H+14)),'white'); d=ImageDraw.Draw(out)
    for k,f in enumerate(fs):
        im=Image.open(f'{D}/set/s2/{f}').convert('RGB'); x=(k%2)*(W+10); y=(k//2)*(H+14)
        out.paste(im,(x,y+14)); d.text((x,y),f"{f[:-4]} {b2[f][0]} read {b2[f][1]}",fill='red')
    out.save(f'{D}/{name}.png'); print(name,[(f,b2[f][0],b2[f][1]) for f in fs])
