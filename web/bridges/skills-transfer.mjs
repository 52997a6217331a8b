// Skill import and export for the Skills panel (pyapp/llmos/ui/skills.py). File bytes go
// straight between the browser and the OS worker as base64, never through the UI's MicroPython
// heap. Each call resolves to the OS reply as JSON text (an export's zip replaced by its size).

const toBase64 = (bytes) => {
  let text = "";
  for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(text);
};

// A folder picked with webkitdirectory gives paths like "my-skill/SKILL.md" (one skill) or
// "skills/a/SKILL.md" (a folder of skills): the store wants "<name>/SKILL.md", so a parent
// folder that is not itself a skill is dropped.
const skillPaths = (files) => {
  const paths = files.map((file) => file.webkitRelativePath || file.name);
  const tops = new Set(paths.map((path) => path.split("/")[0]));
  const [top] = tops;
  const isSkill = paths.includes(`${top}/SKILL.md`);
  if (tops.size !== 1 || isSkill || paths.some((path) => !path.includes("/"))) return paths;
  return paths.map((path) => path.slice(top.length + 1));
};

window.llmosSkillFiles = {
  async importFolder(fileList) {
    const files = Array.from(fileList);
    const paths = skillPaths(files);
    const encoded = {};
    for (let i = 0; i < files.length; i++) {
      encoded[paths[i]] = toBase64(new Uint8Array(await files[i].arrayBuffer()));
    }
    return JSON.stringify(await window.llmos.request("skills.import", { files: encoded }));
  },
  async importZip(file) {
    const zip = toBase64(new Uint8Array(await file.arrayBuffer()));
    return JSON.stringify(await window.llmos.request("skills.import", { zip }));
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
