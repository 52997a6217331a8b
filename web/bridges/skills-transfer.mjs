// Skill import and export for the Skills panel (pyapp/llmos/ui/skills.py). File bytes go
// straight between the browser and the OS worker as base64, never through the UI's MicroPython
// heap. Each call resolves to the OS reply as JSON text (an export's zip replaced by its size).

const toBase64 = (bytes) => {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};

window.llmosSkillFiles = {
  async importFolder(fileList) {
    // webkitRelativePath: "my-skill/SKILL.md"; the store finds each folder holding a SKILL.md
    const encoded = {};
    const files = Array.from(fileList);
    for (const file of files) {
      encoded[file.webkitRelativePath || file.name] = toBase64(new Uint8Array(await file.arrayBuffer()));
    }
    const origin = (files[0]?.webkitRelativePath || "a folder").split("/")[0];
    return JSON.stringify(await window.llmos.request("skills.import", { files: encoded, origin }));
  },
  async importZip(file) {
    const zip = toBase64(new Uint8Array(await file.arrayBuffer()));
    return JSON.stringify(await window.llmos.request("skills.import", { zip, origin: file.name }));
  },
  async exportDownload() {
    const reply = await window.llmos.request("skills.export", {});
    if (!reply.ok) return JSON.stringify(reply);
    const { zip, name } = reply.result;
    const bytes = Uint8Array.from(atob(zip), (c) => c.charCodeAt(0));
    const blob = new Blob([bytes], { type: "application/zip" });
    const url = URL.createObjectURL(blob);
    const link = Object.assign(document.createElement("a"), { href: url, download: name || "llmos-skills.zip" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
    return JSON.stringify({ ok: true, result: { name: link.download, bytes: blob.size } });
  },
};
