/* i18n.js: every human-readable string of the page, in Chinese (zh-CN, the default) and
 * English, and the language switch that the page remembers in localStorage. */

/* The languages the page speaks, as values of <html lang>. */
export const LANGS = ['zh-CN', 'en'];

/* localStorage key of the chosen language. */
const STORAGE_KEY = 'qchain.lang';

/*
 * The string tables. Each entry is {zh, en}; a value is either a string or a function of the
 * entry's arguments returning a string (for sentences with numbers or names in them). Keys are
 * grouped by view: app.*, nav.*, verify.*, fail.*, dash.*, explore.*, tx.*, state.*.
 */
export const STRINGS = {
    /* ---- the frame: title, navigation, language button ---- */
    'app.title': { zh: 'qchain 政务记录存证核验', en: 'qchain record notarization' },
    'app.subtitle': {
        zh: '济南 · 淄博 · 泰安 · 聊城 · 德州 · 滨州 · 东营 · 济宁 · 菏泽 联盟链',
        en: 'Consortium chain of Jinan, Zibo, Tai\'an, Liaocheng, Dezhou, Binzhou, Dongying, Jining and Heze',
    },
    'app.node': { zh: (city, chain) => `本节点：${city} · 链 ${chain}`, en: (city, chain) => `This node: ${city} · chain ${chain}` },
    'app.node-unknown': { zh: '本节点：无法连接', en: 'This node: cannot be reached' },
    'app.skip': { zh: '跳到主要内容', en: 'Skip to the main content' },
    'app.footer': {
        zh: '文件只在您的浏览器中计算摘要，不会上传。核验在浏览器内完成，只依赖创世文件。',
        en: 'Files are hashed in your browser and never uploaded. Verification runs in your browser and relies only on the genesis file.',
    },
    'nav.label': { zh: '主导航', en: 'Main navigation' },
    'nav.verify': { zh: '核验文件', en: 'Verify' },
    'nav.dashboard': { zh: '节点状态', en: 'Dashboard' },
    'nav.explorer': { zh: '区块浏览', en: 'Explorer' },
    'lang.button': { zh: 'English', en: '中文' },
    'lang.button-label': { zh: 'Switch to English', en: '切换到中文' },

    /* ---- common words ---- */
    'common.none': { zh: '无', en: 'none' },
    'common.unreachable': {
        zh: '无法连接节点：节点的接口没有响应。请稍后再试，或联系本市节点的管理员。',
        en: 'Cannot reach the node: its API does not answer. Try again later, or ask your city node\'s operator.',
    },
    'common.node-error': { zh: (s, m) => `节点返回错误（${s}）：${m}`, en: (s, m) => `The node answered with an error (${s}): ${m}` },
    'common.clear': { zh: '移除', en: 'Remove' },
    'common.this-node': { zh: '本节点', en: 'this node' },

    /* ---- verify view ---- */
    'verify.title': { zh: '核验一份文件', en: 'Verify a document' },
    'verify.intro': {
        zh: '选择或拖入您持有的文件，页面会在您的浏览器中计算它的 SHA-256 摘要，向节点取回存证回执，并在浏览器中对照创世文件核验：哪个城市盖章存证、何时、在哪个区块、由多少城市共同确认。',
        en: 'Pick or drop the document you hold: the page computes its SHA-256 digest in your browser, fetches the notarization receipt from the node, and checks it in your browser against the genesis file: which city sealed it, when, in which block, committed by how many cities.',
    },
    'verify.file-label': { zh: '要核验的文件', en: 'Document to verify' },
    'verify.file-drop': { zh: '把文件拖到这里，或点击选择文件', en: 'Drop the document here, or click to pick it' },
    'verify.file-note': {
        zh: '文件不会离开您的设备：只有它的摘要会发送给节点，用来查找回执。',
        en: 'The file never leaves your device: only its digest is sent to the node, to look up the receipt.',
    },
    'verify.or': { zh: '或者', en: 'or' },
    'verify.digest-label': { zh: '粘贴 SHA-256 摘要（64 位十六进制）', en: 'Paste a SHA-256 digest (64 hex characters)' },
    'verify.digest-placeholder': { zh: '例如 5891b5b5…（64 位）', en: 'e.g. 5891b5b5… (64 characters)' },
    'verify.digest-go': { zh: '核验摘要', en: 'Verify digest' },
    'verify.digest-invalid': {
        zh: '摘要必须恰好是 64 个十六进制字符（0-9、a-f）。',
        en: 'A digest is exactly 64 hexadecimal characters (0-9, a-f).',
    },
    'verify.receipt-label': { zh: '回执文件（JSON，可选）', en: 'Receipt file (JSON, optional)' },
    'verify.receipt-drop': {
        zh: '拖入或选择 qchain 回执（.receipt.json）：离线核验该回执；之后选择的文件将与此回执比对。',
        en: 'Drop or pick a qchain receipt (.receipt.json): it is checked offline, and a document picked afterwards is checked against it.',
    },
    'verify.receipt-held': { zh: (n) => `正在使用回执文件：${n}`, en: (n) => `Using the receipt file: ${n}` },
    'verify.genesis-label': { zh: '创世文件（可选）', en: 'Genesis file (optional)' },
    'verify.genesis-drop': {
        zh: '默认使用节点提供的创世文件。若您持有联盟发布的 genesis.json，请在此选择它，以不依赖节点进行核验。',
        en: 'By default the node\'s own genesis file is used. If you hold the genesis.json your consortium published, pick it here to verify without trusting the node.',
    },
    'verify.genesis-use-node': { zh: '改用节点的创世文件', en: 'Use the node\'s genesis file' },
    'verify.genesis-from-node': { zh: '来自本节点', en: 'from this node' },
    'verify.genesis-from-file': { zh: (n) => `来自您的文件 ${n}`, en: (n) => `from your file ${n}` },
    'verify.genesis-current': {
        zh: (hash, src) => `创世哈希 ${hash}（${src}）`,
        en: (hash, src) => `Genesis hash ${hash} (${src})`,
    },
    'verify.genesis-hint': {
        zh: '请将此哈希与您所在联盟公布的创世哈希比对：一致时，核验结果不依赖于任何一个节点。',
        en: 'Compare this hash with the one your consortium published: if they match, the result does not depend on trusting any one node.',
    },
    'verify.genesis-loading': { zh: '正在获取节点的创世文件…', en: 'Fetching the node\'s genesis file…' },
    'verify.genesis-unavailable': {
        zh: '暂时无法获取节点的创世文件；您可以选择自己持有的创世文件。',
        en: 'The node\'s genesis file cannot be fetched right now; you can pick the genesis file you hold.',
    },
    'verify.genesis-bad': { zh: (m) => `该文件不是有效的创世文件：${m}`, en: (m) => `That file is not a valid genesis file: ${m}` },
    'verify.genesis-chain': { zh: (c, n, q) => `链 ${c}，${n} 个成员城市，法定人数 ${q}`, en: (c, n, q) => `chain ${c}, ${n} member cities, quorum ${q}` },
    'verify.doc-digest': { zh: (n) => `“${n}”的 SHA-256（在您的浏览器中计算）`, en: (n) => `SHA-256 of “${n}” (computed in your browser)` },
    'verify.pasted-digest': { zh: '您粘贴的摘要', en: 'The digest you pasted' },
    'verify.idle': { zh: '结果将显示在这里。', en: 'The result will appear here.' },
    'verify.hashing': { zh: (n) => `正在计算“${n}”的摘要…`, en: (n) => `Hashing “${n}”…` },
    'verify.fetching': { zh: '正在向节点取回回执…', en: 'Fetching the receipt from the node…' },
    'verify.checking': { zh: '正在浏览器中核验回执…', en: 'Checking the receipt in your browser…' },
    'verify.ok-title-doc': { zh: '已核验：此文件已在链上存证', en: 'Verified: this document is notarized on the chain' },
    'verify.ok-title-digest': { zh: '已核验：此摘要已在链上存证', en: 'Verified: this digest is notarized on the chain' },
    'verify.ok-title-receipt': { zh: '已核验：回执有效', en: 'Verified: the receipt is valid' },
    'verify.ok-summary': {
        zh: (city, time, h, k, n) => `${city}于 ${time} 存证，记录在第 ${h} 块，由 ${n} 个城市中的 ${k} 个共同确认。`,
        en: (city, time, h, k, n) => `Sealed by ${city} on ${time}, in block ${h}, committed by ${k} of ${n} cities.`,
    },
    'verify.ok-doc-matches': {
        zh: '您所持文件的摘要与存证的摘要完全一致，文件未被改动。',
        en: 'The digest of the document you hold is exactly the one notarized: the document is unchanged.',
    },
    'verify.fail-title': { zh: '核验失败', en: 'Verification failed' },
    'verify.fail-reason': { zh: (r) => `核验程序的说明（英文）：${r}`, en: (r) => `The verifier says: ${r}` },
    'verify.fail-detail': { zh: (r) => `详情：${r}`, en: (r) => `Details: ${r}` },
    'verify.fail-code': { zh: (c) => `失败代码：${c}`, en: (c) => `Failure code: ${c}` },
    'verify.na-title': { zh: '未找到存证', en: 'Not notarized' },
    'verify.na-text': {
        zh: '节点没有此摘要的存证记录：这份文件（或摘要）没有在这条链上存证。请确认选择的是原始文件：哪怕改动一个字节，摘要也会完全不同。',
        en: 'The node has no record of this digest: this document (or digest) has not been notarized on this chain. Make sure you picked the original file: changing a single byte gives a completely different digest.',
    },
    'verify.f.city': { zh: '存证城市', en: 'Sealed by' },
    'verify.f.time': { zh: '存证时间', en: 'When' },
    'verify.f.block': { zh: '区块', en: 'Block' },
    'verify.f.committed': { zh: '共同确认', en: 'Committed by' },
    'verify.f.committed-v': {
        zh: (k, n, names) => `${n} 个城市中的 ${k} 个：${names}`,
        en: (k, n, names) => `${k} of ${n} cities: ${names}`,
    },
    'verify.f.type': { zh: '记录类型', en: 'Record type' },
    'verify.f.reference': { zh: '业务编号', en: 'Reference' },
    'verify.f.digest': { zh: '摘要', en: 'Digest' },
    'verify.f.tx': { zh: '交易', en: 'Transaction' },
    'verify.f.epoch': { zh: '成员纪元', en: 'Membership epoch' },
    'verify.f.genesis': { zh: '核验所用创世文件', en: 'Verified against genesis' },
    'verify.f.quorum': { zh: '法定人数', en: 'Quorum' },
    'verify.status-title': { zh: '当前状态（由本节点报告，未离线证明）', en: 'Current status (as this node reports it; not proven offline)' },
    'verify.status-state': { zh: '状态', en: 'Status' },
    'verify.status-owner': { zh: '所属城市', en: 'Owner' },
    'verify.status-endorsements': { zh: '背书', en: 'Endorsements' },
    'verify.status-endorsement': {
        zh: (city, purpose, h) => `${city}：${purpose}（第 ${h} 块）`,
        en: (city, purpose, h) => `${city}: ${purpose} (block ${h})`,
    },
    'verify.status-revoked': {
        zh: (h, r) => `已于第 ${h} 块撤销，原因：${r}`,
        en: (h, r) => `revoked in block ${h}, reason: ${r}`,
    },
    'verify.status-superseded': {
        zh: (d, h) => `已于第 ${h} 块被新记录 ${d} 替代`,
        en: (d, h) => `superseded by ${d} in block ${h}`,
    },
    'verify.status-more': {
        zh: (n) => `此摘要共被存证 ${n} 次，每次存证各有其回执（在区块浏览器中查看）。`,
        en: (n) => `This digest was anchored ${n} times; each anchoring has its own receipt (see the explorer).`,
    },
    'verify.explore-link': { zh: '在区块浏览器中查看', en: 'View in the explorer' },
    'verify.no-verifier': {
        zh: (m) => `无法加载核验模块（verify.js）：${m}`,
        en: (m) => `The verifier module (verify.js) could not be loaded: ${m}`,
    },

    /* ---- failure sentences, one per verifier code (and the page's own codes) ---- */
    'fail.format': {
        zh: '回执格式不正确：它不是一份完整、有效的 qchain 回执。',
        en: 'The receipt is malformed: it is not a complete, well-formed qchain receipt.',
    },
    'fail.genesis': {
        zh: '回执与创世文件不符：它属于另一条链（链标识或创世哈希不同），或创世文件无效。',
        en: 'The receipt does not match the genesis file: it belongs to another chain (a different chain id or genesis hash), or the genesis file is invalid.',
    },
    'fail.digest': {
        zh: '文件与存证不符：这份文件的摘要不是回执中存证的摘要，文件可能已被改动。',
        en: 'The document does not match: its digest is not the one the receipt notarizes. The document may have been altered.',
    },
    'fail.seal': {
        zh: '城市印章签名无效：该交易不是由某个成员城市的印章密钥签署的，或签名已损坏。',
        en: 'The city seal is invalid: the transaction was not signed by a member city\'s seal key, or the signature is damaged.',
    },
    'fail.certificate': {
        zh: '区块的提交证书无效：确认该区块的城市签名不足法定人数，或其中有无效签名。',
        en: 'The block\'s commit certificate is invalid: too few cities signed the block, or one of the signatures is bad.',
    },
    'fail.membership': {
        zh: '成员变更历史无法核实：无法从创世成员一步步确认提交该区块的城市名单。',
        en: 'The membership history does not check out: the cities that committed the block cannot be traced back to the genesis members.',
    },
    'fail.inclusion': {
        zh: '包含证明无效：该记录不在区块的记录日志中。',
        en: 'The inclusion proof fails: the record is not in the block\'s record log.',
    },
    'fail.header': {
        zh: '区块头无效：它与证书、成员集合或回执的其余部分不一致。',
        en: 'The block header does not check out against the certificate, the validator set or the rest of the receipt.',
    },
    'fail.record': {
        zh: '回执中的交易并没有在它所标明的位置存证这个摘要。',
        en: 'The receipt\'s transaction does not anchor this digest at the position the receipt names.',
    },
    'fail.unsupported': {
        zh: '此浏览器无法在这里完成核验（缺少 WebCrypto：页面需要通过 HTTPS 或本机地址打开）。',
        en: 'This browser cannot verify here (no WebCrypto: the page must be opened over HTTPS or from this machine).',
    },
    'fail.unknown': { zh: '回执未通过核验。', en: 'The receipt did not verify.' },
    'fail.unreachable': {
        zh: '无法连接节点，因此无法取回回执或创世文件。',
        en: 'Cannot reach the node, so the receipt or the genesis file cannot be fetched.',
    },
    'fail.node': { zh: '节点返回了错误，无法取回回执。', en: 'The node answered with an error; the receipt could not be fetched.' },
    'fail.receipt-file': { zh: '所选的回执文件不是有效的 JSON。', en: 'The receipt file picked is not valid JSON.' },
    'fail.file': { zh: '无法读取所选文件。', en: 'The file picked could not be read.' },
    'fail.error': { zh: '核验过程中发生内部错误。', en: 'An internal error occurred while verifying.' },

    /* ---- dashboard view ---- */
    'dash.title': { zh: '联盟节点状态', en: 'Consortium dashboard' },
    'dash.intro': {
        zh: '本节点所见的各城市节点、最新区块和检查点，每 2 秒刷新。这是节点的自述，不是证明。',
        en: 'The member cities\' nodes as this node sees them, the latest blocks and checkpoint, refreshed every 2 s. This is the node\'s own view, not a proof.',
    },
    'dash.node': { zh: '本节点', en: 'This node' },
    'dash.height': { zh: '区块高度', en: 'Height' },
    'dash.view': { zh: '视图', en: 'View' },
    'dash.primary': { zh: '主节点', en: 'Primary' },
    'dash.epoch': { zh: '成员纪元', en: 'Epoch' },
    'dash.peers': { zh: '对等连接', en: 'Peer links' },
    'dash.lag': { zh: '落后区块', en: 'Lag' },
    'dash.mempool': { zh: '待处理交易', en: 'Mempool' },
    'dash.log-size': { zh: '记录总数', en: 'Records' },
    'dash.view-change': { zh: '视图切换中', en: 'view change in progress' },
    'dash.learner': { zh: '本节点为学习节点（不参与投票）', en: 'this node is a learner (does not vote)' },
    'dash.cities': { zh: '成员城市', en: 'Member cities' },
    'dash.col-city': { zh: '城市', en: 'City' },
    'dash.col-state': { zh: '连接', en: 'Link' },
    'dash.col-height': { zh: '高度', en: 'Height' },
    'dash.col-lag': { zh: '落后', en: 'Lag' },
    'dash.col-view': { zh: '视图', en: 'View' },
    'dash.col-links': { zh: '连接的节点', en: 'Peers up' },
    'dash.col-api': { zh: '接口地址', en: 'API address' },
    'dash.up': { zh: '在线', en: 'up' },
    'dash.down': { zh: '离线', en: 'down' },
    'dash.unknown': { zh: '未知', en: 'unknown' },
    'dash.no-peers-route': {
        zh: '该节点不提供 /v1/peers，下表仅列出成员名单。',
        en: 'This node does not serve /v1/peers; the table lists the members only.',
    },
    'dash.blocks': { zh: '最新区块', en: 'Latest blocks' },
    'dash.no-blocks': { zh: '还没有区块。', en: 'No blocks yet.' },
    'dash.col-block': { zh: '区块', en: 'Block' },
    'dash.col-time': { zh: '时间', en: 'Time' },
    'dash.col-txs': { zh: '交易', en: 'Txs' },
    'dash.col-records': { zh: '记录', en: 'Records' },
    'dash.col-proposer': { zh: '提议城市', en: 'Proposer' },
    'dash.col-hash': { zh: '哈希', en: 'Hash' },
    'dash.checkpoint': { zh: '最新签名检查点', en: 'Latest signed checkpoint' },
    'dash.cp-height': { zh: '区块', en: 'Block' },
    'dash.cp-size': { zh: '日志大小', en: 'Log size' },
    'dash.cp-root': { zh: '日志根', en: 'Log root' },
    'dash.cp-signers': { zh: '签名城市', en: 'Signed by' },
    'dash.cp-signers-v': { zh: (k, q, names) => `${k} 个（法定人数 ${q}）：${names}`, en: (k, q, names) => `${k} (quorum ${q}): ${names}` },
    'dash.cp-unsigned': { zh: '尚无达到法定人数签名的检查点。', en: 'No checkpoint has been signed by a quorum yet.' },
    'dash.cp-none': { zh: '还没有区块，因此没有检查点。', en: 'No blocks yet, so no checkpoint.' },
    'dash.chart': { zh: '每秒存证记录数（最近 5 分钟）', en: 'Records committed per second (last 5 minutes)' },
    'dash.chart-now': { zh: (r) => `最近：${r} 条/秒`, en: (r) => `Latest: ${r} records/s` },
    'dash.chart-wait': { zh: '正在收集数据…', en: 'Collecting samples…' },
    'dash.chart-x0': { zh: '5 分钟前', en: '5 min ago' },
    'dash.chart-x1': { zh: '2.5 分钟前', en: '2.5 min ago' },
    'dash.chart-x2': { zh: '现在', en: 'now' },
    'dash.chart-label': {
        zh: (now, max) => `每秒存证记录数柱状图，最近 5 分钟；${now}；${max}`,
        en: (now, max) => `Bar chart of records committed per second over the last 5 minutes; ${now}; ${max}`,
    },
    'dash.chart-max': { zh: (r) => `峰值 ${r}/秒`, en: (r) => `max ${r}/s` },
    'dash.updated': { zh: (t) => `更新于 ${t}`, en: (t) => `Updated ${t}` },
    'dash.stale': { zh: '（数据可能已过时）', en: '(the data may be stale)' },

    /* ---- explorer view ---- */
    'explore.title': { zh: '区块浏览器', en: 'Explorer' },
    'explore.intro': {
        zh: '输入区块高度，或 64 位十六进制的区块哈希、记录摘要或交易 ID。',
        en: 'Enter a block height, or a 64-hex block hash, record digest or transaction id.',
    },
    'explore.label': { zh: '区块高度、哈希、摘要或交易 ID', en: 'Block height, hash, digest or transaction id' },
    'explore.placeholder': { zh: '例如 12 或 64 位十六进制', en: 'e.g. 12, or 64 hex characters' },
    'explore.go': { zh: '查找', en: 'Search' },
    'explore.invalid': {
        zh: '请输入正整数区块高度，或恰好 64 位的十六进制值。',
        en: 'Enter a positive block height, or exactly 64 hexadecimal characters.',
    },
    'explore.not-found': { zh: (q) => `没有找到与 ${q} 对应的区块、记录或交易。`, en: (q) => `No block, record or transaction matches ${q}.` },
    'explore.no-block': { zh: (h) => `没有第 ${h} 块。`, en: (h) => `There is no block ${h}.` },
    'explore.searching': { zh: '正在查找…', en: 'Searching…' },
    'explore.block-title': { zh: (h) => `第 ${h} 块`, en: (h) => `Block ${h}` },
    'explore.prev': { zh: '上一块', en: 'Previous block' },
    'explore.next': { zh: '下一块', en: 'Next block' },
    'explore.h.hash': { zh: '区块哈希', en: 'Block hash' },
    'explore.h.time': { zh: '时间', en: 'Time' },
    'explore.h.prev': { zh: '上一块哈希', en: 'Previous hash' },
    'explore.h.proposer': { zh: '提议城市', en: 'Proposer' },
    'explore.h.view': { zh: '视图', en: 'View' },
    'explore.h.epoch': { zh: '成员纪元', en: 'Epoch' },
    'explore.h.txs': { zh: '交易数', en: 'Transactions' },
    'explore.h.log-size': { zh: '记录日志大小', en: 'Record log size' },
    'explore.h.log-root': { zh: '记录日志根', en: 'Record log root' },
    'explore.h.state-root': { zh: '状态根', en: 'State root' },
    'explore.h.tx-root': { zh: '交易根', en: 'Transaction root' },
    'explore.h.validators': { zh: '验证者集合哈希', en: 'Validator set hash' },
    'explore.h.next-validators': { zh: '下一纪元验证者集合哈希', en: 'Next validator set hash' },
    'explore.h.genesis': { zh: '创世哈希', en: 'Genesis hash' },
    'explore.h.chain': { zh: '链标识', en: 'Chain id' },
    'explore.h.epoch-switch': { zh: '（本纪元最后一块）', en: '(last block of its epoch)' },
    'explore.txs': { zh: '交易', en: 'Transactions' },
    'explore.no-txs': { zh: '此区块没有交易。', en: 'This block has no transactions.' },
    'explore.col-tx': { zh: '交易 ID', en: 'Transaction' },
    'explore.col-type': { zh: '类型', en: 'Type' },
    'explore.col-city': { zh: '城市', en: 'City' },
    'explore.col-detail': { zh: '内容', en: 'Contents' },
    'explore.records-n': { zh: (n) => `${n} 条记录`, en: (n) => (n === 1 ? '1 record' : `${n} records`) },
    'explore.records-note': {
        zh: '（只列出前 32 笔存证交易的记录明细，其余只显示条数）',
        en: '(records are listed for the first 32 anchor transactions; the others show their count)',
    },
    'explore.cert': { zh: '提交证书', en: 'Commit certificate' },
    'explore.cert-signers': {
        zh: (k, n, names) => `${n} 个城市中的 ${k} 个签名：${names}`,
        en: (k, n, names) => `signed by ${k} of ${n} cities: ${names}`,
    },
    'explore.cert-view': { zh: (v) => `视图 ${v}`, en: (v) => `view ${v}` },
    'explore.record-title': { zh: '存证记录', en: 'Record' },
    'explore.r.digest': { zh: '摘要', en: 'Digest' },
    'explore.r.state': { zh: '状态', en: 'Status' },
    'explore.r.owner': { zh: '所属城市', en: 'Owner' },
    'explore.r.type': { zh: '记录类型', en: 'Record type' },
    'explore.r.reference': { zh: '业务编号', en: 'Reference' },
    'explore.r.anchorings': { zh: '存证记录', en: 'Anchorings' },
    'explore.r.anchored': {
        zh: (city, h, time) => `${city}，第 ${h} 块，${time}`,
        en: (city, h, time) => `${city}, block ${h}, ${time}`,
    },
    'explore.r.log-index': { zh: (i) => `日志序号 ${i}`, en: (i) => `log index ${i}` },
    'explore.r.more': { zh: '（还有更多存证未列出）', en: '(more anchorings not listed)' },
    'explore.r.revoked': { zh: '撤销', en: 'Revoked' },
    'explore.r.superseded-by': { zh: '被替代为', en: 'Superseded by' },
    'explore.r.supersedes': { zh: '替代了', en: 'Supersedes' },
    'explore.r.endorsements': { zh: '背书', en: 'Endorsements' },
    'explore.r.verify': { zh: '核验此记录的回执', en: 'Verify this record\'s receipt' },
    'explore.r.node-says': {
        zh: '以上为节点报告的信息；点击“核验”在浏览器中对照创世文件离线核验。',
        en: 'This is what the node reports; “Verify” checks the receipt in your browser against the genesis file.',
    },
    'explore.tx-title': { zh: '交易', en: 'Transaction' },
    'explore.t.id': { zh: '交易 ID', en: 'Transaction id' },
    'explore.t.status': { zh: '状态', en: 'Status' },
    'explore.t.block': { zh: '区块', en: 'Block' },
    'explore.t.index': { zh: '区块内序号', en: 'Index in block' },
    'explore.t.block-hash': { zh: '区块哈希', en: 'Block hash' },
    'explore.t.type': { zh: '类型', en: 'Type' },
    'explore.t.committed': { zh: '已提交', en: 'committed' },
    'explore.t.pending': { zh: '待处理（在本节点的交易池中）', en: 'pending (in this node\'s mempool)' },

    /* ---- transaction types, share operations, record states ---- */
    'tx.anchor': { zh: '存证', en: 'anchor' },
    'tx.govern': { zh: '治理', en: 'governance' },
    'tx.endorse': { zh: '背书', en: 'endorse' },
    'tx.revoke': { zh: '撤销', en: 'revoke' },
    'tx.supersede': { zh: '替代', en: 'supersede' },
    'tx.share': { zh: '数据共享', en: 'data sharing' },
    'tx.f.digest': { zh: '记录', en: 'record' },
    'tx.f.new_digest': { zh: '新记录', en: 'new record' },
    'tx.f.purpose': { zh: '用途', en: 'purpose' },
    'tx.f.note': { zh: '附言', en: 'note' },
    'tx.f.reason': { zh: '原因', en: 'reason' },
    'tx.f.op': { zh: '操作', en: 'operation' },
    /* the named codes of docs/RECORDS.md, keyed by the English name the node gives */
    'name.e-seal recognition': { zh: '电子印章互认', en: 'e-seal recognition' },
    'name.licence acceptance': { zh: '证照互认', en: 'licence acceptance' },
    'name.data verified': { zh: '数据已核实', en: 'data verified' },
    'name.issued in error': { zh: '错误签发', en: 'issued in error' },
    'name.expired or withdrawn': { zh: '已过期或撤回', en: 'expired or withdrawn' },
    'name.key compromise': { zh: '密钥泄露', en: 'key compromise' },
    'name.court order': { zh: '法院裁定', en: 'court order' },
    'name.public service': { zh: '公共服务', en: 'public service' },
    'name.planning and research': { zh: '规划与研究', en: 'planning and research' },
    'name.audit or oversight': { zh: '审计或监督', en: 'audit or oversight' },
    'name.emergency response': { zh: '应急响应', en: 'emergency response' },
    'name.purpose not covered by the terms': { zh: '用途不在条款范围内', en: 'purpose not covered by the terms' },
    'name.period too long': { zh: '期限过长', en: 'period too long' },
    'name.data not available': { zh: '数据不可用', en: 'data not available' },
    'name.legal restriction': { zh: '法律限制', en: 'legal restriction' },
    'state.valid': { zh: '有效', en: 'valid' },
    'state.revoked': { zh: '已撤销', en: 'revoked' },
    'state.superseded': { zh: '已被替代', en: 'superseded' },
};

/* Returns the language stored in localStorage if it is one of LANGS, else 'zh-CN'. Never
 * throws (storage may be disabled). */
function storedLang() {
    try {
        const v = window.localStorage.getItem(STORAGE_KEY);
        if (LANGS.includes(v)) return v;
    } catch (_) { /* storage disabled: fall through */ }
    return 'zh-CN';
}

let current = storedLang();

/* Returns the language in force: 'zh-CN' or 'en'. */
export function getLang() {
    return current;
}

/* Sets the language (one of LANGS; anything else is ignored), remembers it in localStorage and
 * sets <html lang>. Does not re-render anything: callers call applyStatic and their views. */
export function setLang(lang) {
    if (!LANGS.includes(lang)) return;
    current = lang;
    try { window.localStorage.setItem(STORAGE_KEY, lang); } catch (_) { /* not remembered */ }
    document.documentElement.lang = lang;
}

/* Returns the string for key in the language in force, the entry's function applied to args
 * when it is one. An unknown key returns the key itself, so a missing entry shows, not breaks. */
export function t(key, ...args) {
    const e = STRINGS[key];
    if (!e) return key;
    const v = current === 'en' ? e.en : e.zh;
    return typeof v === 'function' ? v(...args) : v;
}

/* Returns t(key) if key is in the table, else fallback: for names that come from the chain
 * (transaction types, states), which may grow beyond the table. */
export function tOr(key, fallback) {
    return STRINGS[key] ? t(key) : fallback;
}

/* Returns the label of a named code (an endorsement purpose, a revocation or denial reason)
 * from the English name the node gives and the number: the name in the language in force when
 * the table has it, else the node's name, else the number. */
export function codeLabel(name, code) {
    if (name) return tOr(`name.${name}`, name);
    return String(code);
}

/*
 * Fills the static labels under root from their attributes: data-i18n (textContent),
 * data-i18n-placeholder, data-i18n-aria-label and data-i18n-title (those attributes). Elements
 * with dynamic text carry none of these and are re-rendered by their views.
 */
export function applyStatic(root = document) {
    for (const n of root.querySelectorAll('[data-i18n]')) n.textContent = t(n.dataset.i18n);
    for (const n of root.querySelectorAll('[data-i18n-placeholder]')) n.placeholder = t(n.dataset.i18nPlaceholder);
    for (const n of root.querySelectorAll('[data-i18n-aria-label]')) n.setAttribute('aria-label', t(n.dataset.i18nAriaLabel));
    for (const n of root.querySelectorAll('[data-i18n-title]')) n.title = t(n.dataset.i18nTitle);
}
