<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="zh_CN">
<context>
    <name>Actions</name>
    <message>
        <source>&amp;Auto</source>
        <translation>自动(&amp;A)</translation>
    </message>
    <message>
        <source>GPU when one is available, else CPU</source>
        <translation>有 GPU 时使用 GPU，否则使用 CPU</translation>
    </message>
    <message>
        <source>&amp;CPU</source>
        <translation>&amp;CPU</translation>
    </message>
    <message>
        <source>Always run the models on the CPU</source>
        <translation>始终在 CPU 上运行模型</translation>
    </message>
    <message>
        <source>&amp;GPU (CUDA)</source>
        <translation>&amp;GPU (CUDA)</translation>
    </message>
    <message>
        <source>Run the models on the CUDA GPU</source>
        <translation>在 CUDA GPU 上运行模型</translation>
    </message>
</context>
<context>
    <name>Appearance</name>
    <message>
        <source>&amp;System (follow the desktop)</source>
        <translation>跟随系统(&amp;S)</translation>
    </message>
    <message>
        <source>&amp;Light</source>
        <translation>浅色(&amp;L)</translation>
    </message>
    <message>
        <source>&amp;Dark</source>
        <translation>深色(&amp;D)</translation>
    </message>
    <message>
        <source>T&amp;heme</source>
        <translation>主题(&amp;H)</translation>
    </message>
    <message>
        <source>Colours of every window; the printed report stays light</source>
        <translation>所有窗口的配色；打印的报告始终为浅色</translation>
    </message>
</context>
<context>
    <name>CoreText</name>
    <message>
        <source>normal</source>
        <translation>正常</translation>
    </message>
    <message>
        <source>pneumonia</source>
        <translation>肺炎</translation>
    </message>
    <message>
        <source>malignant</source>
        <translation>恶性</translation>
    </message>
    <message>
        <source>benign</source>
        <translation>良性</translation>
    </message>
    <message>
        <source>normal-benign</source>
        <translation>正常/良性</translation>
    </message>
    <message>
        <source>abnormal</source>
        <translation>异常</translation>
    </message>
    <message>
        <source>Paediatric chest X-ray: pneumonia</source>
        <translation>儿童胸部 X 线：肺炎</translation>
    </message>
    <message>
        <source>Breast ultrasound: malignancy</source>
        <translation>乳腺超声：恶性肿瘤</translation>
    </message>
    <message>
        <source>Attention rollout</source>
        <translation>注意力展开</translation>
    </message>
    <message>
        <source>Occlusion</source>
        <translation>遮挡分析</translation>
    </message>
    <message>
        <source>Accuracy</source>
        <translation>准确率</translation>
    </message>
    <message>
        <source>Sensitivity</source>
        <translation>灵敏度</translation>
    </message>
    <message>
        <source>Specificity</source>
        <translation>特异度</translation>
    </message>
    <message>
        <source>Macro F1</source>
        <translation>宏平均 F1</translation>
    </message>
    <message>
        <source>sensitivity</source>
        <translation>灵敏度</translation>
    </message>
    <message>
        <source>specificity</source>
        <translation>特异度</translation>
    </message>
    <message>
        <source>Macro AUC</source>
        <translation>宏平均 AUC</translation>
    </message>
    <message>
        <source>Auto (GPU if available)</source>
        <translation>自动（有 GPU 时使用 GPU）</translation>
    </message>
    <message>
        <source>Done</source>
        <translation>完成</translation>
    </message>
    <message>
        <source>Reading the data set…</source>
        <translation>正在读取数据集…</translation>
    </message>
    <message>
        <source>Preparing the images…</source>
        <translation>正在准备图像…</translation>
    </message>
    <message>
        <source>Evaluating the base and the new model on the validation set…</source>
        <translation>正在验证集上评估基础模型和新模型…</translation>
    </message>
    <message>
        <source>Re-fitting the operating point on the validation set…</source>
        <translation>正在验证集上重新拟合工作点…</translation>
    </message>
    <message>
        <source>Re-fitting the operating point on the out-of-fold predictions…</source>
        <translation>正在基于折外预测重新拟合工作点…</translation>
    </message>
    <message>
        <source>Saving the new version…</source>
        <translation>正在保存新版本…</translation>
    </message>
    <message>
        <source>Reading patient names…</source>
        <translation>正在读取患者姓名…</translation>
    </message>
    <message>
        <source>Reading the queue…</source>
        <translation>正在读取队列…</translation>
    </message>
    <message>
        <source>Ranking the scanned images…</source>
        <translation>正在对已扫描的图像排序…</translation>
    </message>
    <message>
        <source>Estimating the local accuracy…</source>
        <translation>正在估计本地准确率…</translation>
    </message>
    <message>
        <source>Writing CSV…</source>
        <translation>正在写入 CSV…</translation>
    </message>
    <message>
        <source>Loading PyTorch…</source>
        <translation>正在加载 PyTorch…</translation>
    </message>
    <message>
        <source>Predicting…</source>
        <translation>正在预测…</translation>
    </message>
    <message>
        <source>Writing DICOM results…</source>
        <translation>正在写入 DICOM 结果…</translation>
    </message>
    <message>
        <source>Preparing the report…</source>
        <translation>正在准备报告…</translation>
    </message>
    <message>
        <source>Comparing with the base model (bootstrap CIs)…</source>
        <translation>正在与基础模型比较（自助法置信区间）…</translation>
    </message>
    <message>
        <source>analysed</source>
        <translation>已分析</translation>
    </message>
    <message>
        <source>uncertain</source>
        <translation>不确定</translation>
    </message>
    <message>
        <source>disagreement</source>
        <translation>模型间分歧</translation>
    </message>
    <message>
        <source>near-OOD</source>
        <translation>接近分布外</translation>
    </message>
    <message>
        <source>refused</source>
        <translation>已拒绝</translation>
    </message>
    <message>
        <source>random</source>
        <translation>随机抽样</translation>
    </message>
    <message>
        <source>Decision support only — not for diagnostic use. The models are research prototypes trained on low-resolution benchmark data and are not clinically validated; every finding must be confirmed by a qualified clinician.</source>
        <translation>仅供辅助决策——不可用于诊断。这些模型是在低分辨率基准数据上训练的研究原型，未经临床验证；所有发现均须由具备资质的临床医生确认。</translation>
    </message>
    <message>
        <source>Within training distribution</source>
        <translation>在训练数据分布之内</translation>
    </message>
    <message>
        <source>OUTSIDE what this model was trained on</source>
        <translation>超出该模型的训练范围（分布外）</translation>
    </message>
    <message>
        <source>not assessed</source>
        <translation>未评估</translation>
    </message>
    <message>
        <source>not predicted</source>
        <translation>未预测</translation>
    </message>
    <message>
        <source>no decision: the image is outside what this model was trained on</source>
        <translation>不作判定：该图像超出此模型的训练范围</translation>
    </message>
    <message>
        <source>could not load image</source>
        <translation>无法加载图像</translation>
    </message>
    <message>
        <source>empty file (0 bytes)</source>
        <translation>空文件（0 字节）</translation>
    </message>
    <message>
        <source>not an image</source>
        <translation>不是图像</translation>
    </message>
    <message>
        <source>truncated file</source>
        <translation>文件不完整</translation>
    </message>
    <message>
        <source>corrupt or unsupported image data</source>
        <translation>图像数据损坏或不受支持</translation>
    </message>
    <message>
        <source>image too large</source>
        <translation>图像过大</translation>
    </message>
    <message>
        <source>Loading {0}…</source>
        <translation>正在加载 {0}…</translation>
    </message>
    <message>
        <source>Computing {0}…</source>
        <translation>正在计算{0}…</translation>
    </message>
    <message>
        <source>DICOM results: {0} / {1} files</source>
        <translation>DICOM 结果：{0} / {1} 个文件</translation>
    </message>
    <message>
        <source>Cross-validation: fold {0} of {1}</source>
        <translation>交叉验证：第 {0} 折，共 {1} 折</translation>
    </message>
    <message>
        <source>Training the final model on all {0} images</source>
        <translation>正在用全部 {0} 张图像训练最终模型</translation>
    </message>
    <message>
        <source>De-identifying file {0} of {1}…</source>
        <translation>正在去标识化第 {0} 个文件，共 {1} 个…</translation>
    </message>
    <message>
        <source>Comparing with the base model on all {0} images (bootstrap CIs)…</source>
        <translation>正在用全部 {0} 张图像与基础模型比较（自助法置信区间）…</translation>
    </message>
    <message>
        <source>error: {0}</source>
        <translation>错误：{0}</translation>
    </message>
    <message>
        <source>outside training data (OOD score {0})</source>
        <translation>超出训练数据范围（分布外评分 {0}）</translation>
    </message>
    <message>
        <source>{0} (P({1}) = {2} {3} operating point {4})</source>
        <translation>{0}（P({1}) = {2} {3} 工作点 {4}）</translation>
    </message>
    <message>
        <source>{0} (top class, p = {1}; no operating point)</source>
        <translation>{0}（最高概率类别，p = {1}；无工作点）</translation>
    </message>
    <message>
        <source>{0}-bit</source>
        <translation>{0} 位</translation>
    </message>
    <message>
        <source>{0} channels</source>
        <translation>{0} 个通道</translation>
    </message>
    <message>
        <source>modality {0}</source>
        <translation>模态 {0}</translation>
    </message>
    <message>
        <source>frame {0} of {1}</source>
        <translation>第 {0} 帧，共 {1} 帧</translation>
    </message>
    <message>
        <source>Expected {0}</source>
        <translation>预期{0}</translation>
    </message>
    <message>
        <source>{0} of the {1}: where it looked (not specific to a class)</source>
        <translation>{1} 的{0}：模型关注的区域（不针对特定类别）</translation>
    </message>
    <message>
        <source>{0} of the {1} for “{2}”</source>
        <translation>{1} 针对“{2}”的{0}</translation>
    </message>
    <message>
        <source> — evidence for {0}, although the decision is {1}</source>
        <translation>——显示支持“{0}”的依据，但判定结果为“{1}”</translation>
    </message>
    <message>
        <source>: empty map (no region raised this prediction)</source>
        <translation>：空白图（没有区域提高该预测）</translation>
    </message>
</context>
<context>
    <name>DicomExport</name>
    <message>
        <source>{text} in {dirname}</source>
        <translation>{text}，位于 {dirname}</translation>
    </message>
    <message>
        <source>DICOM results</source>
        <translation>DICOM 结果</translation>
    </message>
    <message>
        <source>Folder for the DICOM results</source>
        <translation>DICOM 结果的文件夹</translation>
    </message>
</context>
<context>
    <name>ExceptionDialogHook</name>
    <message>
        <source>Unexpected error</source>
        <translation>意外错误</translation>
    </message>
    <message>
        <source>Something went wrong, but your work is safe and the window stays usable.

{message}

The details are in the log file:
{log}</source>
        <translation>出现了问题，但您的工作是安全的，窗口仍可继续使用。

{message}

详细信息见日志文件：
{log}</translation>
    </message>
</context>
<context>
    <name>FileList</name>
    <message>
        <source>Opened images (↑/↓ or Page Up/Down to switch, Delete to remove)</source>
        <translation>已打开的图像（↑/↓ 或 Page Up/Page Down 切换，Delete 移除）</translation>
    </message>
    <message>
        <source>Opened images</source>
        <translation>已打开的图像</translation>
    </message>
</context>
<context>
    <name>FineTuneDialog</name>
    <message>
        <source>Fine-tune a model — MedDiag Desktop</source>
        <translation>微调模型 — MedDiag Desktop</translation>
    </message>
    <message>
        <source>1  Data &amp;&amp; model</source>
        <translation>1  数据与模型</translation>
    </message>
    <message>
        <source>2  Results &amp;&amp; save</source>
        <translation>2  结果与保存</translation>
    </message>
    <message>
        <source>Decision support only: a fine-tuned model is validated on your data alone - check its figures before you activate it.</source>
        <translation>仅供辅助决策：微调后的模型只在您自己的数据上验证过——启用前请核对其各项指标。</translation>
    </message>
    <message>
        <source>Train on this data?</source>
        <translation>使用这些数据训练？</translation>
    </message>
    <message>
        <source>

Train anyway?</source>
        <translation>

仍要训练吗？</translation>
    </message>
    <message>
        <source>Stopping — keeping the best epoch so far…</source>
        <translation>正在停止——保留目前最佳的轮次…</translation>
    </message>
    <message>
        <source>Cancelling…</source>
        <translation>正在取消…</translation>
    </message>
    <message>
        <source>Cancelled — nothing was saved; the active model is unchanged.</source>
        <translation>已取消——未保存任何内容；当前启用的模型未改变。</translation>
    </message>
    <message>
        <source>Training failed: {message}</source>
        <translation>训练失败：{message}</translation>
    </message>
    <message>
        <source>Done ({replace}): see the results.</source>
        <translation>完成（{replace}）：请查看结果。</translation>
    </message>
    <message>
        <source>Re-fitting the operating point…</source>
        <translation>正在重新拟合工作点…</translation>
    </message>
    <message>
        <source>Saved {saved_id} earlier with the previous operating point; save again to keep this one as another version.</source>
        <translation>之前已用上一个工作点保存为 {saved_id}；再次保存可将当前工作点另存为新版本。</translation>
    </message>
    <message>
        <source>Saving…</source>
        <translation>正在保存…</translation>
    </message>
    <message>
        <source>Saved &lt;b&gt;{id}&lt;/b&gt; (version {version})</source>
        <translation>已保存 &lt;b&gt;{id}&lt;/b&gt;（版本 {version}）</translation>
    </message>
    <message>
        <source> — now the active model.</source>
        <translation>——现为启用的模型。</translation>
    </message>
    <message>
        <source> — not activated.</source>
        <translation>——未启用。</translation>
    </message>
    <message>
        <source>Not saved: {message}</source>
        <translation>未保存：{message}</translation>
    </message>
    <message>
        <source>An operation of the fine-tune dialog failed</source>
        <translation>微调对话框中的一项操作失败</translation>
    </message>
    <message>
        <source>Cancel training?</source>
        <translation>取消训练？</translation>
    </message>
    <message>
        <source>Training is still running. Cancel it? Nothing will be saved.</source>
        <translation>训练仍在进行。要取消吗？将不会保存任何内容。</translation>
    </message>
</context>
<context>
    <name>FinetuneResults</name>
    <message>
        <source>Balanced (Youden&apos;s J)</source>
        <translation>均衡（约登指数）</translation>
    </message>
    <message>
        <source>Target sensitivity</source>
        <translation>目标灵敏度</translation>
    </message>
    <message>
        <source>Target specificity</source>
        <translation>目标特异度</translation>
    </message>
    <message>
        <source>Cost: a missed positive counts R times a false alarm</source>
        <translation>代价：一次漏诊按 R 次误报计</translation>
    </message>
</context>
<context>
    <name>FinetuneSetup</name>
    <message>
        <source>yours</source>
        <translation>您的</translation>
    </message>
    <message>
        <source>shipped</source>
        <translation>随附</translation>
    </message>
    <message>
        <source>active</source>
        <translation>已启用</translation>
    </message>
    <message>
        <source>DEMO</source>
        <translation>演示</translation>
    </message>
</context>
<context>
    <name>FinetuneTraining</name>
    <message>
        <source>Training finished</source>
        <translation>训练完成</translation>
    </message>
    <message>
        <source>Stopped early (no improvement)</source>
        <translation>提前停止（无改进）</translation>
    </message>
    <message>
        <source>Stopped by you</source>
        <translation>已由您停止</translation>
    </message>
    <message>
        <source>Cancelled</source>
        <translation>已取消</translation>
    </message>
</context>
<context>
    <name>HeatLegend</name>
    <message>
        <source>Heat-map legend</source>
        <translation>热力图图例</translation>
    </message>
    <message>
        <source>low</source>
        <translation>低</translation>
    </message>
    <message>
        <source>high</source>
        <translation>高</translation>
    </message>
    <message>
        <source>Colour scale of the heat-map: low attribution is transparent, high attribution is red. {caption}</source>
        <translation>热力图色标：低归因为透明，高归因为红色。{caption}</translation>
    </message>
</context>
<context>
    <name>HelpDialogs</name>
    <message>
        <source>The shipped models were trained on MedMNIST v2 (Yang J. et al., “MedMNIST v2 — A large-scale lightweight benchmark for 2D and 3D biomedical image classification”, Scientific Data 10, 41, 2023), licensed CC BY 4.0: PneumoniaMNIST, derived from Kermany D. S. et al., Cell 2018 (paediatric chest X-rays), and BreastMNIST, derived from Al-Dhabyani W. et al., Data in Brief 2020 (breast ultrasound). The images were resized to 28 × 28 pixels by the MedMNIST authors; no endorsement by them is implied.</source>
        <translation>随附模型基于 MedMNIST v2 训练（Yang J. et al., “MedMNIST v2 — A large-scale lightweight benchmark for 2D and 3D biomedical image classification”, Scientific Data 10, 41, 2023），采用 CC BY 4.0 许可：PneumoniaMNIST 源自 Kermany D. S. et al., Cell 2018（儿童胸部 X 线），BreastMNIST 源自 Al-Dhabyani W. et al., Data in Brief 2020（乳腺超声）。图像由 MedMNIST 作者缩放至 28 × 28 像素；并不表示其作者认可本软件。</translation>
    </message>
    <message>
        <source>not installed</source>
        <translation>未安装</translation>
    </message>
    <message>
        <source>&lt;li&gt;(the models are still loading)&lt;/li&gt;</source>
        <translation>&lt;li&gt;（模型仍在加载）&lt;/li&gt;</translation>
    </message>
    <message>
        <source>&lt;h2&gt;MedDiag Desktop {version__}&lt;/h2&gt;&lt;p&gt;Offline diagnostic assistant for medical images. &lt;b&gt;{NOTICE_TEXT}&lt;/b&gt;&lt;/p&gt;&lt;p&gt;Models run on this computer; no image leaves it. Patient identifiers in DICOM files are never read.&lt;/p&gt;&lt;p&gt;Python {python_version} on {escape}&lt;/p&gt;&lt;table&gt;{versions}&lt;/table&gt;&lt;h3&gt;Model cards&lt;/h3&gt;&lt;ul&gt;{models}&lt;/ul&gt;&lt;h3&gt;Training data&lt;/h3&gt;&lt;p&gt;{MEDMNIST_ATTRIBUTION}&lt;/p&gt;&lt;h3&gt;Third-party licences&lt;/h3&gt;&lt;table&gt;{licences}&lt;/table&gt;</source>
        <translation>&lt;h2&gt;MedDiag Desktop {version__}&lt;/h2&gt;&lt;p&gt;离线医学影像辅助诊断工具。&lt;b&gt;{NOTICE_TEXT}&lt;/b&gt;&lt;/p&gt;&lt;p&gt;模型在本机运行；图像不会离开本机。从不读取 DICOM 文件中的患者标识信息。&lt;/p&gt;&lt;p&gt;Python {python_version}，运行于 {escape}&lt;/p&gt;&lt;table&gt;{versions}&lt;/table&gt;&lt;h3&gt;模型卡&lt;/h3&gt;&lt;ul&gt;{models}&lt;/ul&gt;&lt;h3&gt;训练数据&lt;/h3&gt;&lt;p&gt;{MEDMNIST_ATTRIBUTION}&lt;/p&gt;&lt;h3&gt;第三方许可证&lt;/h3&gt;&lt;table&gt;{licences}&lt;/table&gt;</translation>
    </message>
    <message>
        <source>About MedDiag Desktop</source>
        <translation>关于 MedDiag Desktop</translation>
    </message>
    <message>
        <source>&lt;h2&gt;Welcome to MedDiag Desktop&lt;/h2&gt;&lt;p&gt;&lt;b&gt;What it is:&lt;/b&gt; decision support. It shows what trained models say about a chest X-ray (pneumonia) or a breast ultrasound (benign / malignant), with calibrated probabilities, each model&apos;s expected sensitivity and specificity, and heat-maps of where they looked.&lt;/p&gt;&lt;p&gt;&lt;b&gt;What it is not:&lt;/b&gt; a diagnosis. The shipped models learnt from 28 × 28-pixel research images (MedMNIST) from a few centres; they can be wrong on your images, and images unlike their training data are refused. Every finding must be confirmed by a qualified clinician.&lt;/p&gt;&lt;p&gt;&lt;b&gt;Where your data is kept:&lt;/b&gt; nothing leaves this computer. Settings: {escape}; your models and review labels: {escape2}; logs (file names only, no patient data): {escape3}.&lt;/p&gt;&lt;p&gt;&lt;b&gt;Getting started:&lt;/b&gt; &lt;i&gt;File → Open…&lt;/i&gt; (Ctrl+O) an image or drop it on the window; &lt;i&gt;File → Scan folder…&lt;/i&gt; (Ctrl+Shift+O) runs the models over whole folders into a table; &lt;i&gt;Models → Fine-tune…&lt;/i&gt; adapts a model to your own labelled images. Help → Keyboard shortcuts (F1) lists every key.&lt;/p&gt;</source>
        <translation>&lt;h2&gt;欢迎使用 MedDiag Desktop&lt;/h2&gt;&lt;p&gt;&lt;b&gt;它是什么：&lt;/b&gt;辅助决策工具。它显示训练好的模型对胸部 X 线（肺炎）或乳腺超声（良性/恶性）的判断，包括校准后的概率、每个模型的预期灵敏度和特异度，以及显示模型关注区域的热力图。&lt;/p&gt;&lt;p&gt;&lt;b&gt;它不是什么：&lt;/b&gt;诊断。随附模型学习自少数几家中心的 28 × 28 像素研究图像（MedMNIST）；它们可能对您的图像判断错误，与训练数据不同的图像会被拒绝。所有发现均须由具备资质的临床医生确认。&lt;/p&gt;&lt;p&gt;&lt;b&gt;数据保存位置：&lt;/b&gt;任何数据都不会离开本机。设置：{escape}；您的模型和审阅标注：{escape2}；日志（仅含文件名，不含患者数据）：{escape3}。&lt;/p&gt;&lt;p&gt;&lt;b&gt;入门：&lt;/b&gt;用&lt;i&gt;文件 → 打开…&lt;/i&gt;（Ctrl+O）打开图像，或将图像拖到窗口中；&lt;i&gt;文件 → 扫描文件夹…&lt;/i&gt;（Ctrl+Shift+O）用模型批量分析整个文件夹并列表显示；&lt;i&gt;模型 → 微调…&lt;/i&gt;用您自己标注的图像调整模型。帮助 → 键盘快捷键（F1）列出所有按键。&lt;/p&gt;</translation>
    </message>
    <message>
        <source>Getting started — MedDiag Desktop</source>
        <translation>入门 — MedDiag Desktop</translation>
    </message>
    <message>
        <source>Getting started</source>
        <translation>入门</translation>
    </message>
    <message>
        <source>S&amp;kip</source>
        <translation>跳过(&amp;K)</translation>
    </message>
</context>
<context>
    <name>ImageArea</name>
    <message>
        <source>Open images with Ctrl+O, or drop files here</source>
        <translation>按 Ctrl+O 打开图像，或将文件拖放到此处</translation>
    </message>
</context>
<context>
    <name>ImageViewer</name>
    <message>
        <source>Wheel: zoom · left drag: pan · right drag: window/level · F: fit · R: reset W/L</source>
        <translation>滚轮：缩放 · 左键拖动：平移 · 右键拖动：窗宽/窗位 · F：适合窗口 · R：重置窗宽/窗位</translation>
    </message>
    <message>
        <source>zoom {value:.0f} %</source>
        <translation>缩放 {value:.0f} %</translation>
    </message>
</context>
<context>
    <name>Inbox</name>
    <message>
        <source>Arrived</source>
        <translation>到达时间</translation>
    </message>
    <message>
        <source>Modality</source>
        <translation>模态</translation>
    </message>
    <message>
        <source>Accession no.</source>
        <translation>检查号</translation>
    </message>
    <message>
        <source>Study time</source>
        <translation>检查时间</translation>
    </message>
    <message>
        <source>Patient</source>
        <translation>患者</translation>
    </message>
    <message>
        <source>Patient ID</source>
        <translation>患者 ID</translation>
    </message>
    <message>
        <source>Check</source>
        <translation>需复核</translation>
    </message>
    <message>
        <source>⚠ outside training data</source>
        <translation>⚠ 超出训练数据范围</translation>
    </message>
</context>
<context>
    <name>InboxModel</name>
    <message>
        <source>A model refused this image (outside its training data): please look at it</source>
        <translation>有模型拒绝了此图像（超出其训练数据范围）：请人工查看</translation>
    </message>
    <message>
        <source>not analysed</source>
        <translation>未分析</translation>
    </message>
    <message>
        <source>check</source>
        <translation>复核</translation>
    </message>
</context>
<context>
    <name>InboxPanel</name>
    <message>
        <source>Nothing received yet. Settings → DICOM node… or File → Watch folder… starts the intake.</source>
        <translation>尚未收到任何内容。通过 设置 → DICOM 节点… 或 文件 → 监视文件夹… 开始接收。</translation>
    </message>
    <message>
        <source>{total} item(s): {positive} with a positive decision, {flagged} to check. Click a row to open the image.</source>
        <translation>共 {total} 项：{positive} 项判定为阳性，{flagged} 项需复核。单击一行可打开图像。</translation>
    </message>
</context>
<context>
    <name>Intake</name>
    <message>
        <source>Port</source>
        <translation>端口</translation>
    </message>
    <message>
        <source>Max associations</source>
        <translation>最大关联数</translation>
    </message>
    <message>
        <source>Minimum free disk (MB)</source>
        <translation>最小可用磁盘空间（MB）</translation>
    </message>
    <message>
        <source>Inbox</source>
        <translation>收件箱</translation>
    </message>
    <message>
        <source>Inbox: 0</source>
        <translation>收件箱：0</translation>
    </message>
    <message>
        <source>Items received by the DICOM node or the watch folder</source>
        <translation>DICOM 节点或监视文件夹收到的项目</translation>
    </message>
    <message>
        <source>Cannot start the DICOM node</source>
        <translation>无法启动 DICOM 节点</translation>
    </message>
    <message>
        <source>Watch folder</source>
        <translation>监视文件夹</translation>
    </message>
    <message>
        <source>Cannot watch the folder</source>
        <translation>无法监视该文件夹</translation>
    </message>
    <message>
        <source>No such folder: {value}</source>
        <translation>文件夹不存在：{value}</translation>
    </message>
    <message>
        <source>Inbox: {total}</source>
        <translation>收件箱：{total}</translation>
    </message>
    <message>
        <source> ({positive} positive, {flagged} to check)</source>
        <translation>（{positive} 项阳性，{flagged} 项需复核）</translation>
    </message>
    <message>
        <source>Could not start the DICOM node</source>
        <translation>未能启动 DICOM 节点</translation>
    </message>
    <message>
        <source>Could not watch the folder</source>
        <translation>未能监视该文件夹</translation>
    </message>
    <message>
        <source>The intake stopped</source>
        <translation>接收已停止</translation>
    </message>
    <message>
        <source>The AE title must be 1 to 16 characters, without a backslash.</source>
        <translation>AE 标题须为 1 至 16 个字符，且不含反斜杠。</translation>
    </message>
    <message>
        <source>{name} must be {low} to {high}.</source>
        <translation>{name}必须在 {low} 到 {high} 之间。</translation>
    </message>
</context>
<context>
    <name>Keyboard</name>
    <message>
        <source>Full range</source>
        <translation>全范围</translation>
    </message>
    <message>
        <source>High contrast</source>
        <translation>高对比度</translation>
    </message>
    <message>
        <source>Bright structures</source>
        <translation>高亮结构</translation>
    </message>
    <message>
        <source>Dark structures</source>
        <translation>暗部结构</translation>
    </message>
    <message>
        <source>Lung (CT)</source>
        <translation>肺窗 (CT)</translation>
    </message>
    <message>
        <source>Soft tissue (CT)</source>
        <translation>软组织窗 (CT)</translation>
    </message>
    <message>
        <source>Bone (CT)</source>
        <translation>骨窗 (CT)</translation>
    </message>
    <message>
        <source>CT presets apply to CT images only</source>
        <translation>CT 预设仅适用于 CT 图像</translation>
    </message>
    <message>
        <source>Heat-map model: {card}</source>
        <translation>热力图模型：{card}</translation>
    </message>
    <message>
        <source>Next model &amp;family</source>
        <translation>下一个模型族(&amp;F)</translation>
    </message>
    <message>
        <source>Explain the next model family&apos;s prediction (M)</source>
        <translation>解释下一个模型族的预测 (M)</translation>
    </message>
    <message>
        <source>Previous model famil&amp;y</source>
        <translation>上一个模型族(&amp;Y)</translation>
    </message>
    <message>
        <source>Explain the previous model family&apos;s prediction (Shift+M)</source>
        <translation>解释上一个模型族的预测 (Shift+M)</translation>
    </message>
    <message>
        <source>Window/level: image default</source>
        <translation>窗宽/窗位：图像默认值</translation>
    </message>
    <message>
        <source>The image&apos;s own window/level (Ctrl+1)</source>
        <translation>图像自带的窗宽/窗位 (Ctrl+1)</translation>
    </message>
    <message>
        <source>Window/level: {name}</source>
        <translation>窗宽/窗位：{name}</translation>
    </message>
    <message>
        <source>Window/level preset {name} ({key})</source>
        <translation>窗宽/窗位预设：{name} ({key})</translation>
    </message>
    <message>
        <source>Move between controls</source>
        <translation>在控件之间移动</translation>
    </message>
    <message>
        <source>Tab, Shift+Tab</source>
        <translation>Tab, Shift+Tab</translation>
    </message>
    <message>
        <source>Open a menu</source>
        <translation>打开菜单</translation>
    </message>
    <message>
        <source>Alt + the underlined letter</source>
        <translation>Alt + 带下划线的字母</translation>
    </message>
    <message>
        <source>Window/level with the mouse</source>
        <translation>用鼠标调节窗宽/窗位</translation>
    </message>
    <message>
        <source>right-drag on the image</source>
        <translation>在图像上按住右键拖动</translation>
    </message>
    <message>
        <source>Keyboard shortcuts — MedDiag Desktop</source>
        <translation>键盘快捷键 — MedDiag Desktop</translation>
    </message>
    <message>
        <source>Keyboard shortcuts</source>
        <translation>键盘快捷键</translation>
    </message>
    <message>
        <source>Action</source>
        <translation>操作</translation>
    </message>
    <message>
        <source>Keys</source>
        <translation>按键</translation>
    </message>
    <message>
        <source>Every action of the main window without a mouse:</source>
        <translation>无需鼠标即可使用主窗口的所有操作：</translation>
    </message>
</context>
<context>
    <name>LanguageMenu</name>
    <message>
        <source>The language changes at the next start</source>
        <translation>语言将在下次启动时更改</translation>
    </message>
    <message>
        <source>&amp;Language (at next start)</source>
        <translation>语言（下次启动生效）(&amp;L)</translation>
    </message>
    <message>
        <source>Language of the window; it changes at the next start. The {0} environment variable (e.g. zh_CN, en) overrides this choice.</source>
        <translation>窗口的语言；下次启动时生效。环境变量 {0}（例如 zh_CN、en）优先于此选项。</translation>
    </message>
    <message>
        <source>&amp;System default</source>
        <translation>系统默认(&amp;S)</translation>
    </message>
</context>
<context>
    <name>MainActions</name>
    <message>
        <source>&amp;Open…</source>
        <translation>打开(&amp;O)…</translation>
    </message>
    <message>
        <source>Open one or more images (PNG, JPEG, TIFF, BMP, DICOM…) (Ctrl+O)</source>
        <translation>打开一个或多个图像（PNG、JPEG、TIFF、BMP、DICOM…）(Ctrl+O)</translation>
    </message>
    <message>
        <source>&amp;Remove from list</source>
        <translation>从列表中移除(&amp;R)</translation>
    </message>
    <message>
        <source>Remove the selected image from the list (Delete)</source>
        <translation>从列表中移除所选图像 (Delete)</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>退出(&amp;Q)</translation>
    </message>
    <message>
        <source>Quit MedDiag Desktop</source>
        <translation>退出 MedDiag Desktop</translation>
    </message>
    <message>
        <source>S&amp;can folder…</source>
        <translation>扫描文件夹(&amp;C)…</translation>
    </message>
    <message>
        <source>Scan whole folders with the task&apos;s models into a table (Ctrl+Shift+O)</source>
        <translation>用当前任务的模型扫描整个文件夹并列表显示 (Ctrl+Shift+O)</translation>
    </message>
    <message>
        <source>Re&amp;view queue…</source>
        <translation>审阅队列(&amp;V)…</translation>
    </message>
    <message>
        <source>Label a review queue (meddiag review-queue) image by image, by keys alone; the labels are saved at once and can be fine-tuned on</source>
        <translation>逐张标注审阅队列（meddiag review-queue）中的图像，仅用键盘即可；标注会立即保存，并可用于微调</translation>
    </message>
    <message>
        <source>Export &amp;report…</source>
        <translation>导出报告(&amp;R)…</translation>
    </message>
    <message>
        <source>Save a PDF case report of this image and its predictions (Ctrl+P)</source>
        <translation>将此图像及其预测保存为 PDF 病例报告 (Ctrl+P)</translation>
    </message>
    <message>
        <source>Export &amp;DICOM results…</source>
        <translation>导出 DICOM 结果(&amp;D)…</translation>
    </message>
    <message>
        <source>Write a DICOM structured report and a heat-map secondary capture of this image&apos;s results into a folder, in the image&apos;s own study</source>
        <translation>将此图像结果的 DICOM 结构化报告和热力图二次捕获写入文件夹，归入该图像所属的检查</translation>
    </message>
    <message>
        <source>&amp;Fit to window</source>
        <translation>适合窗口(&amp;F)</translation>
    </message>
    <message>
        <source>Fit the image to the window (F)</source>
        <translation>使图像适合窗口 (F)</translation>
    </message>
    <message>
        <source>Zoom &amp;in</source>
        <translation>放大(&amp;I)</translation>
    </message>
    <message>
        <source>Zoom in (+)</source>
        <translation>放大 (+)</translation>
    </message>
    <message>
        <source>Zoom &amp;out</source>
        <translation>缩小(&amp;O)</translation>
    </message>
    <message>
        <source>Zoom out (-)</source>
        <translation>缩小 (-)</translation>
    </message>
    <message>
        <source>&amp;Reset window/level</source>
        <translation>重置窗宽/窗位(&amp;R)</translation>
    </message>
    <message>
        <source>Back to the image&apos;s own window/level (R); right-drag on the image sets it</source>
        <translation>恢复图像自带的窗宽/窗位 (R)；在图像上按住右键拖动可调节</translation>
    </message>
    <message>
        <source>Show &amp;heat-map</source>
        <translation>显示热力图(&amp;H)</translation>
    </message>
    <message>
        <source>Overlay the selected model&apos;s heat-map (H)</source>
        <translation>叠加所选模型的热力图 (H)</translation>
    </message>
    <message>
        <source>&amp;Next image</source>
        <translation>下一张图像(&amp;N)</translation>
    </message>
    <message>
        <source>Next image (Page Down)</source>
        <translation>下一张图像 (Page Down)</translation>
    </message>
    <message>
        <source>&amp;Previous image</source>
        <translation>上一张图像(&amp;P)</translation>
    </message>
    <message>
        <source>Previous image (Page Up)</source>
        <translation>上一张图像 (Page Up)</translation>
    </message>
    <message>
        <source>&amp;Watch folder…</source>
        <translation>监视文件夹(&amp;W)…</translation>
    </message>
    <message>
        <source>Analyse new images as they appear in a folder; they join the Inbox</source>
        <translation>分析文件夹中新出现的图像；它们会加入收件箱</translation>
    </message>
    <message>
        <source>&amp;Fine-tune…</source>
        <translation>微调(&amp;F)…</translation>
    </message>
    <message>
        <source>Fine-tune a model on your own labelled images (runs in the background)</source>
        <translation>用您自己标注的图像微调模型（在后台运行）</translation>
    </message>
    <message>
        <source>&amp;Models…</source>
        <translation>模型(&amp;M)…</translation>
    </message>
    <message>
        <source>Model versions per task: activate, roll back, export, import, delete</source>
        <translation>各任务的模型版本：启用、回滚、导出、导入、删除</translation>
    </message>
    <message>
        <source>&amp;Keyboard shortcuts</source>
        <translation>键盘快捷键(&amp;K)</translation>
    </message>
    <message>
        <source>Every keyboard shortcut of the window (F1)</source>
        <translation>窗口的所有键盘快捷键 (F1)</translation>
    </message>
    <message>
        <source>Open &amp;sample</source>
        <translation>打开示例(&amp;S)</translation>
    </message>
    <message>
        <source>Window/level &amp;presets</source>
        <translation>窗宽/窗位预设(&amp;P)</translation>
    </message>
    <message>
        <source>&amp;Device</source>
        <translation>设备(&amp;D)</translation>
    </message>
    <message>
        <source>&amp;Task</source>
        <translation>任务(&amp;T)</translation>
    </message>
    <message>
        <source>DICOM &amp;node…</source>
        <translation>DICOM 节点(&amp;N)…</translation>
    </message>
    <message>
        <source>&amp;Models</source>
        <translation>模型(&amp;M)</translation>
    </message>
    <message>
        <source>&amp;Getting started</source>
        <translation>入门(&amp;G)</translation>
    </message>
    <message>
        <source>&amp;About MedDiag Desktop</source>
        <translation>关于 MedDiag Desktop(&amp;A)</translation>
    </message>
    <message>
        <source>Diagnostic task: which models are shown</source>
        <translation>诊断任务：显示哪些模型</translation>
    </message>
    <message>
        <source> Task: </source>
        <translation> 任务：</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>Images (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.gif *.webp *.jp2 *.j2k *.pgm *.ppm *.pnm *.dcm *.dicom *.ima);;DICOM (*.dcm *.dicom *.ima);;All files (*)</source>
        <translation>图像 (*.png *.jpg *.jpeg *.tif *.tiff *.bmp *.gif *.webp *.jp2 *.j2k *.pgm *.ppm *.pnm *.dcm *.dicom *.ima);;DICOM (*.dcm *.dicom *.ima);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Could not load the models</source>
        <translation>未能加载模型</translation>
    </message>
    <message>
        <source>Prediction failed</source>
        <translation>预测失败</translation>
    </message>
    <message>
        <source>Heat-map failed</source>
        <translation>热力图生成失败</translation>
    </message>
    <message>
        <source>Could not export the report</source>
        <translation>未能导出报告</translation>
    </message>
    <message>
        <source>Could not write the DICOM results</source>
        <translation>未能写入 DICOM 结果</translation>
    </message>
    <message>
        <source>MedDiag Desktop</source>
        <translation>MedDiag Desktop</translation>
    </message>
    <message>
        <source>The models are research prototypes: every finding must be confirmed by a qualified clinician.</source>
        <translation>这些模型是研究原型：所有发现均须由具备资质的临床医生确认。</translation>
    </message>
    <message>
        <source>Loading models…</source>
        <translation>正在加载模型…</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>文件(&amp;F)</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>视图(&amp;V)</translation>
    </message>
    <message>
        <source>&amp;Settings</source>
        <translation>设置(&amp;S)</translation>
    </message>
    <message>
        <source>&amp;Help</source>
        <translation>帮助(&amp;H)</translation>
    </message>
    <message>
        <source>Main</source>
        <translation>主工具栏</translation>
    </message>
    <message>
        <source>Device: –</source>
        <translation>设备：–</translation>
    </message>
    <message>
        <source>Where the models run (Settings → Device)</source>
        <translation>模型运行的位置（设置 → 设备）</translation>
    </message>
    <message>
        <source>Device: loading…</source>
        <translation>设备：正在加载…</translation>
    </message>
    <message>
        <source>Device: {device_label}</source>
        <translation>设备：{device_label}</translation>
    </message>
    <message>
        <source> (auto)</source>
        <translation>（自动）</translation>
    </message>
    <message>
        <source>Device: {device_label} (fallback)</source>
        <translation>设备：{device_label}（后备）</translation>
    </message>
    <message>
        <source>{len} model(s) ready on {device_label}</source>
        <translation>{len} 个模型已在 {device_label} 上就绪</translation>
    </message>
    <message>
        <source>Open images</source>
        <translation>打开图像</translation>
    </message>
    <message>
        <source>Opened {len} file(s)</source>
        <translation>已打开 {len} 个文件</translation>
    </message>
    <message>
        <source>{file_name} — MedDiag Desktop</source>
        <translation>{file_name} — MedDiag Desktop</translation>
    </message>
    <message>
        <source>Working…</source>
        <translation>正在处理…</translation>
    </message>
</context>
<context>
    <name>ModelColumn</name>
    <message>
        <source>accuracy</source>
        <translation>准确率</translation>
    </message>
    <message>
        <source>no validation metrics</source>
        <translation>无验证指标</translation>
    </message>
    <message>
        <source>validation {0}</source>
        <translation>验证集 {0}</translation>
    </message>
    <message>
        <source>{id}, version {version}</source>
        <translation>{id}，版本 {version}</translation>
    </message>
    <message>
        <source>This model was not trained on clinical data; its output is meaningless.</source>
        <translation>此模型未在临床数据上训练；其输出没有意义。</translation>
    </message>
    <message>
        <source>The model&apos;s decision (at its operating point when it has one)</source>
        <translation>模型的判定（如有工作点，则按工作点判定）</translation>
    </message>
    <message>
        <source>Calibrated probability of the decision</source>
        <translation>该判定的校准概率</translation>
    </message>
    <message>
        <source>Calibrated probability of &apos;{label}&apos;</source>
        <translation>“{label}”的校准概率</translation>
    </message>
    <message>
        <source>Operating point chosen on validation data: the decision rule applied to the calibrated probability of the positive finding</source>
        <translation>在验证数据上选定的工作点：应用于阳性发现校准概率的判定规则</translation>
    </message>
    <message>
        <source>What to expect of this model at its operating point: validation sensitivity and specificity with their 95 % confidence intervals</source>
        <translation>此模型在其工作点上的预期表现：验证集灵敏度和特异度及其 95 % 置信区间</translation>
    </message>
    <message>
        <source>computing…</source>
        <translation>计算中…</translation>
    </message>
    <message>
        <source>Operating point:
{parts}
{parts2} → {parts3}</source>
        <translation>工作点：
{parts}
{parts2} → {parts3}</translation>
    </message>
    <message>
        <source>No operating point:
top class shown</source>
        <translation>无工作点：
显示概率最高的类别</translation>
    </message>
    <message>
        <source>{metrics_text}
v{version} on {device_label}</source>
        <translation>{metrics_text}
v{version}，运行于 {device_label}</translation>
    </message>
    <message>
        <source>Could not be loaded: {message}</source>
        <translation>无法加载：{message}</translation>
    </message>
</context>
<context>
    <name>ModelsPage</name>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Family</source>
        <translation>模型族</translation>
    </message>
    <message>
        <source>Version</source>
        <translation>版本</translation>
    </message>
    <message>
        <source>Source</source>
        <translation>来源</translation>
    </message>
    <message>
        <source>Created</source>
        <translation>创建时间</translation>
    </message>
    <message>
        <source>Based on</source>
        <translation>基于</translation>
    </message>
    <message>
        <source>Val accuracy</source>
        <translation>验证准确率</translation>
    </message>
    <message>
        <source>Val AUC</source>
        <translation>验证 AUC</translation>
    </message>
    <message>
        <source>Active</source>
        <translation>启用</translation>
    </message>
    <message>
        <source>Activate</source>
        <translation>启用</translation>
    </message>
    <message>
        <source>Roll back</source>
        <translation>回滚</translation>
    </message>
    <message>
        <source>Delete</source>
        <translation>删除</translation>
    </message>
    <message>
        <source>Export</source>
        <translation>导出</translation>
    </message>
    <message>
        <source>Import</source>
        <translation>导入</translation>
    </message>
    <message>
        <source>List versions</source>
        <translation>列出版本</translation>
    </message>
    <message>
        <source>Models — MedDiag Desktop</source>
        <translation>模型 — MedDiag Desktop</translation>
    </message>
    <message>
        <source>Use the selected version for its task and family</source>
        <translation>在其任务和模型族中使用所选版本</translation>
    </message>
    <message>
        <source>Re-activate the version that was active before</source>
        <translation>重新启用之前启用的版本</translation>
    </message>
    <message>
        <source>Export…</source>
        <translation>导出…</translation>
    </message>
    <message>
        <source>Save the selected model (card + weights) as a .zip</source>
        <translation>将所选模型（模型卡 + 权重）保存为 .zip</translation>
    </message>
    <message>
        <source>Import…</source>
        <translation>导入…</translation>
    </message>
    <message>
        <source>Install a model from a .zip, a folder or a card .json (sha256 checked)</source>
        <translation>从 .zip、文件夹或模型卡 .json 安装模型（校验 sha256）</translation>
    </message>
    <message>
        <source>Delete the selected version (yours only; shipped models stay)</source>
        <translation>删除所选版本（仅限您自己的版本；随附模型保留）</translation>
    </message>
    <message>
        <source>Refresh</source>
        <translation>刷新</translation>
    </message>
    <message>
        <source>Read the model folders again</source>
        <translation>重新读取模型文件夹</translation>
    </message>
    <message>
        <source>Task: {task}</source>
        <translation>任务：{task}</translation>
    </message>
    <message>
        <source>✔ active</source>
        <translation>✔ 已启用</translation>
    </message>
    <message>
        <source>{description}
sha256 {sha256}…</source>
        <translation>{description}
sha256 {sha256}…</translation>
    </message>
    <message>
        <source>
DEMO: not trained for diagnosis</source>
        <translation>
演示：未针对诊断训练</translation>
    </message>
    <message>
        <source>{} is now active.</source>
        <translation>{} 现已启用。</translation>
    </message>
    <message>
        <source>Rolled back: {} is active again.</source>
        <translation>已回滚：{} 重新启用。</translation>
    </message>
    <message>
        <source>Deleted {}.</source>
        <translation>已删除 {}。</translation>
    </message>
    <message>
        <source>Exported to {}.</source>
        <translation>已导出到 {}。</translation>
    </message>
    <message>
        <source>Imported {}.</source>
        <translation>已导入 {}。</translation>
    </message>
    <message>
        <source>{operation} failed: {result}</source>
        <translation>{operation}失败：{result}</translation>
    </message>
    <message>
        <source>Delete model version?</source>
        <translation>删除模型版本？</translation>
    </message>
    <message>
        <source>Delete {id}? Its weights and card are removed from your model folder.</source>
        <translation>删除 {id}？其权重和模型卡将从您的模型文件夹中移除。</translation>
    </message>
    <message>
        <source> It is active: the previous version takes over.</source>
        <translation>它当前已启用：将由上一个版本接替。</translation>
    </message>
    <message>
        <source>Export model</source>
        <translation>导出模型</translation>
    </message>
    <message>
        <source>Model archive (*.zip)</source>
        <translation>模型归档 (*.zip)</translation>
    </message>
    <message>
        <source>Import model</source>
        <translation>导入模型</translation>
    </message>
    <message>
        <source>Model archive or card (*.zip *.json);;All files (*)</source>
        <translation>模型归档或模型卡 (*.zip *.json);;所有文件 (*)</translation>
    </message>
</context>
<context>
    <name>NodeDialog</name>
    <message>
        <source>DICOM node and watch folder</source>
        <translation>DICOM 节点与监视文件夹</translation>
    </message>
    <message>
        <source>TCP port (0: any free port)</source>
        <translation>TCP 端口（0：任一空闲端口）</translation>
    </message>
    <message>
        <source>Interface to listen on. 127.0.0.1: only this computer can send (the safe default)</source>
        <translation>监听的网络接口。127.0.0.1：只有本机可以发送（安全的默认值）</translation>
    </message>
    <message>
        <source>any caller</source>
        <translation>任何调用方</translation>
    </message>
    <message>
        <source>Only these callers: AET or AET@HOST, separated by spaces; others are rejected</source>
        <translation>仅允许这些调用方：AET 或 AET@HOST，以空格分隔；其他调用方将被拒绝</translation>
    </message>
    <message>
        <source>AET@HOST:PORT (optional)</source>
        <translation>AET@HOST:PORT（可选）</translation>
    </message>
    <message>
        <source>C-STORE every SR + SC made to this AE (kept in an outbox until delivered)</source>
        <translation>将生成的每个 SR + SC 通过 C-STORE 发送到此 AE（送达前保存在发件箱中）</translation>
    </message>
    <message>
        <source>Simultaneous associations the node accepts; more are rejected</source>
        <translation>节点同时接受的关联数；超出的将被拒绝</translation>
    </message>
    <message>
        <source>Below this much free disk new images are refused (status A700), never half-stored</source>
        <translation>可用磁盘空间低于此值时拒收新图像（状态 A700），绝不会只存储一半</translation>
    </message>
    <message>
        <source>none: every image goes to the active task&apos;s models</source>
        <translation>无：所有图像都交给当前任务的模型</translation>
    </message>
    <message>
        <source>JSON rules sending images to a task by modality, photometric interpretation, body part or watched sub-folder (see the README)</source>
        <translation>按模态、光度解释、检查部位或监视子文件夹将图像分派到任务的 JSON 规则（见 README）</translation>
    </message>
    <message>
        <source>Browse…</source>
        <translation>浏览…</translation>
    </message>
    <message>
        <source>Write DICOM results (SR + heat-map SC) for every image</source>
        <translation>为每张图像写入 DICOM 结果（SR + 热力图 SC）</translation>
    </message>
    <message>
        <source>Into the output folder&apos;s dicom/; always on when results are sent to a PACS</source>
        <translation>写入输出文件夹的 dicom/；向 PACS 发送结果时始终开启</translation>
    </message>
    <message>
        <source>Folder for received images and results</source>
        <translation>接收的图像和结果所在的文件夹</translation>
    </message>
    <message>
        <source>Show patient name and ID in the inbox (never saved to any file)</source>
        <translation>在收件箱中显示患者姓名和 ID（从不保存到任何文件）</translation>
    </message>
    <message>
        <source>DICOM node (Storage SCP + Verification)</source>
        <translation>DICOM 节点（存储 SCP + 验证）</translation>
    </message>
    <message>
        <source>AE title</source>
        <translation>AE 标题</translation>
    </message>
    <message>
        <source>Port</source>
        <translation>端口</translation>
    </message>
    <message>
        <source>Listen on</source>
        <translation>监听地址</translation>
    </message>
    <message>
        <source>Allowed callers</source>
        <translation>允许的调用方</translation>
    </message>
    <message>
        <source>Send results to</source>
        <translation>结果发送到</translation>
    </message>
    <message>
        <source>Max. associations</source>
        <translation>最大关联数</translation>
    </message>
    <message>
        <source>Min. free disk</source>
        <translation>最小可用磁盘</translation>
    </message>
    <message>
        <source>Routing rules</source>
        <translation>路由规则</translation>
    </message>
    <message>
        <source>Output folder</source>
        <translation>输出文件夹</translation>
    </message>
    <message>
        <source>Start node</source>
        <translation>启动节点</translation>
    </message>
    <message>
        <source>Stop node</source>
        <translation>停止节点</translation>
    </message>
    <message>
        <source>Watch folder</source>
        <translation>监视文件夹</translation>
    </message>
    <message>
        <source>a folder the modality or PACS exports into</source>
        <translation>成像设备或 PACS 导出到的文件夹</translation>
    </message>
    <message>
        <source>Folder to watch</source>
        <translation>要监视的文件夹</translation>
    </message>
    <message>
        <source>Start watching</source>
        <translation>开始监视</translation>
    </message>
    <message>
        <source>Stop watching</source>
        <translation>停止监视</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>关闭</translation>
    </message>
    <message>
        <source>Loading the models…</source>
        <translation>正在加载模型…</translation>
    </message>
    <message>
        <source>Stopped: nothing listens, nothing is watched.</source>
        <translation>已停止：没有监听，也没有监视任何文件夹。</translation>
    </message>
    <message>
        <source>Listening as {listening} — {associations} association(s) open</source>
        <translation>正在以 {listening} 监听——{associations} 个关联已打开</translation>
    </message>
    <message>
        <source>The node is stopped (nothing listens).</source>
        <translation>节点已停止（没有监听）。</translation>
    </message>
    <message>
        <source>Watching {watching}</source>
        <translation>正在监视 {watching}</translation>
    </message>
    <message>
        <source>Received {received} · analysed {analysed} · failed {failed} · already analysed {skipped}</source>
        <translation>已接收 {received} · 已分析 {analysed} · 失败 {failed} · 此前已分析 {skipped}</translation>
    </message>
    <message>
        <source>Sending to {destination}: {delivered} delivered, {outbox} waiting in the outbox</source>
        <translation>正在发送到 {destination}：已送达 {delivered}，发件箱中等待 {outbox}</translation>
    </message>
</context>
<context>
    <name>Predictions</name>
    <message>
        <source>Format</source>
        <translation>格式</translation>
    </message>
    <message>
        <source>Size</source>
        <translation>尺寸</translation>
    </message>
    <message>
        <source>Bit depth</source>
        <translation>位深</translation>
    </message>
    <message>
        <source>Photometric</source>
        <translation>光度解释</translation>
    </message>
    <message>
        <source>Modality</source>
        <translation>模态</translation>
    </message>
    <message>
        <source>Pixel spacing</source>
        <translation>像素间距</translation>
    </message>
    <message>
        <source>Frame</source>
        <translation>帧</translation>
    </message>
    <message>
        <source>Stored window</source>
        <translation>存储的窗宽/窗位</translation>
    </message>
</context>
<context>
    <name>PredictionsPanel</name>
    <message>
        <source>Predictions</source>
        <translation>预测</translation>
    </message>
    <message>
        <source>Show heat-map</source>
        <translation>显示热力图</translation>
    </message>
    <message>
        <source>Overlay where the image drove the selected model&apos;s prediction (H)</source>
        <translation>叠加显示图像中驱动所选模型预测的区域 (H)</translation>
    </message>
    <message>
        <source>Model whose prediction is explained</source>
        <translation>要解释其预测的模型</translation>
    </message>
    <message>
        <source>Grad-CAM (CNN), attention rollout (Transformer) or occlusion (any model; slower)</source>
        <translation>Grad-CAM（CNN）、注意力展开（Transformer）或遮挡分析（任何模型；较慢）</translation>
    </message>
    <message>
        <source>Heat-map opacity</source>
        <translation>热力图不透明度</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Method</source>
        <translation>方法</translation>
    </message>
    <message>
        <source>Opacity</source>
        <translation>不透明度</translation>
    </message>
    <message>
        <source>Heat-map</source>
        <translation>热力图</translation>
    </message>
    <message>
        <source>Image</source>
        <translation>图像</translation>
    </message>
    <message>
        <source>Technical facts only; patient and study identifiers are never read</source>
        <translation>仅含技术信息；从不读取患者和检查标识信息</translation>
    </message>
    <message>
        <source>No image</source>
        <translation>无图像</translation>
    </message>
    <message>
        <source>{bits}-bit, {channels} channels</source>
        <translation>{bits} 位，{channels} 个通道</translation>
    </message>
    <message>
        <source>{bits}-bit, {channels} channel</source>
        <translation>{bits} 位，{channels} 个通道</translation>
    </message>
    <message>
        <source>{pixel_spacing:g} × {pixel_spacing2:g} mm</source>
        <translation>{pixel_spacing:g} × {pixel_spacing2:g} mm</translation>
    </message>
    <message>
        <source>{value} of {n_frames}</source>
        <translation>第 {value} 帧，共 {n_frames} 帧</translation>
    </message>
</context>
<context>
    <name>Report</name>
    <message>
        <source>Image</source>
        <translation>图像</translation>
    </message>
    <message>
        <source>Date</source>
        <translation>日期</translation>
    </message>
    <message>
        <source>Task</source>
        <translation>任务</translation>
    </message>
    <message>
        <source>Input sha256</source>
        <translation>输入文件 sha256</translation>
    </message>
    <message>
        <source>Software</source>
        <translation>软件</translation>
    </message>
    <message>
        <source>DEMO model: not diagnostic</source>
        <translation>演示模型：不可用于诊断</translation>
    </message>
    <message>
        <source>{family}, version {version}</source>
        <translation>{family}，版本 {version}</translation>
    </message>
    <message>
        <source>unknown</source>
        <translation>未知</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Probabilities</source>
        <translation>概率</translation>
    </message>
    <message>
        <source>Decision at operating point</source>
        <translation>工作点处的判定</translation>
    </message>
    <message>
        <source>Out-of-distribution check</source>
        <translation>分布外检测</translation>
    </message>
    <message>
        <source>MedDiag Desktop — case report</source>
        <translation>MedDiag Desktop — 病例报告</translation>
    </message>
    <message>
        <source>Model predictions</source>
        <translation>模型预测</translation>
    </message>
    <message>
        <source>Model weights (sha256)</source>
        <translation>模型权重 (sha256)</translation>
    </message>
    <message>
        <source>{method_name} of {model} for “{target_label}”</source>
        <translation>{model} 针对“{target_label}”的{method_name}</translation>
    </message>
    <message>
        <source>Could not write the report</source>
        <translation>未能写入报告</translation>
    </message>
    <message>
        <source>Report saved to {basename}</source>
        <translation>报告已保存到 {basename}</translation>
    </message>
    <message>
        <source>Export report</source>
        <translation>导出报告</translation>
    </message>
    <message>
        <source>PDF files (*.pdf)</source>
        <translation>PDF 文件 (*.pdf)</translation>
    </message>
</context>
<context>
    <name>ResultsPage</name>
    <message>
        <source>Base vs fine-tuned on the same validation set (95 % bootstrap CIs)</source>
        <translation>基础模型与微调模型在同一验证集上的比较（95 % 自助法置信区间）</translation>
    </message>
    <message>
        <source>Confusion matrices (rows: true class, columns: predicted)</source>
        <translation>混淆矩阵（行：真实类别，列：预测类别）</translation>
    </message>
    <message>
        <source>Base</source>
        <translation>基础模型</translation>
    </message>
    <message>
        <source>Calibration (reliability diagram)</source>
        <translation>校准（可靠性图）</translation>
    </message>
    <message>
        <source>Operating point (fitted on validation)</source>
        <translation>工作点（在验证集上拟合）</translation>
    </message>
    <message>
        <source>Apply</source>
        <translation>应用</translation>
    </message>
    <message>
        <source>Save as a new version</source>
        <translation>另存为新版本</translation>
    </message>
    <message>
        <source>Name:</source>
        <translation>名称：</translation>
    </message>
    <message>
        <source>Make it the active model (the previous one stays for rollback)</source>
        <translation>设为启用的模型（保留上一个版本以便回滚）</translation>
    </message>
    <message>
        <source>Save version</source>
        <translation>保存版本</translation>
    </message>
    <message>
        <source>Base: {base_name}</source>
        <translation>基础：{base_name}</translation>
    </message>
    <message>
        <source>Fine-tuned</source>
        <translation>微调后</translation>
    </message>
    <message>
        <source>R = </source>
        <translation>R = </translation>
    </message>
    <message>
        <source>Positive when the calibrated probability is at least 1 / (1 + R): R = 1 weighs both errors alike, R = 3 accepts three false alarms to avoid one missed positive.</source>
        <translation>校准概率不低于 1 / (1 + R) 时判为阳性：R = 1 时两类错误同等看待，R = 3 表示为避免一次漏诊可接受三次误报。</translation>
    </message>
    <message>
        <source>Cost ratio R</source>
        <translation>代价比 R</translation>
    </message>
    <message>
        <source>ECE (before → after)</source>
        <translation>ECE（校准前 → 校准后）</translation>
    </message>
    <message>
        <source>Threshold</source>
        <translation>阈值</translation>
    </message>
    <message>
        <source>Base vs fine-tuned on the same {n} images - fine-tuned: {folds}-fold cross-validated, out-of-fold (95 % bootstrap CIs)</source>
        <translation>基础模型与微调模型在相同的 {n} 张图像上的比较 - 微调模型：{folds} 折交叉验证，折外预测（95% 自助法置信区间）</translation>
    </message>
    <message>
        <source>Operating point (fitted on the out-of-fold predictions)</source>
        <translation>工作点（基于折外预测拟合）</translation>
    </message>
    <message>
        <source>No base column: {base_note}.</source>
        <translation>无基础模型列：{base_note}。</translation>
    </message>
    <message>
        <source>Each image was scored by the fold model that did not train on it; the model you save is one more, trained on all {n} images with the same schedule.</source>
        <translation>每张图像均由未在其上训练的折模型评分；保存的模型是另外一个以相同训练计划在全部 {n} 张图像上训练的模型。</translation>
    </message>
    <message>
        <source>automatic: {suggested_name}</source>
        <translation>自动：{suggested_name}</translation>
    </message>
    <message>
        <source>Fine-tuned ECE {format_metric} before calibration, {format_metric2} after (temperature {temperature:.3f})</source>
        <translation>微调模型 ECE：校准前 {format_metric}，校准后 {format_metric2}（温度 {temperature:.3f}）</translation>
    </message>
    <message>
        <source>; base ECE {format_metric}</source>
        <translation>；基础模型 ECE {format_metric}</translation>
    </message>
    <message>
        <source>Multi-class model: the most probable class is predicted.</source>
        <translation>多分类模型：预测概率最高的类别。</translation>
    </message>
    <message>
        <source>Positive ({positive_label}) when P ≥ {threshold:.3f} [{rule}]: sensitivity {format_metric}, specificity {format_metric2} on validation.</source>
        <translation>当 P ≥ {threshold:.3f} 时判为阳性（{positive_label}）[{rule}]：验证集灵敏度 {format_metric}，特异度 {format_metric2}。</translation>
    </message>
    <message>
        <source>Positive ({positive_label}) when P ≥ {threshold:.3f} [{rule}]: sensitivity {format_metric}, specificity {format_metric2} out-of-fold.</source>
        <translation>当 P ≥ {threshold:.3f} 时判为阳性（{positive_label}）[{rule}]：折外灵敏度 {format_metric}，特异度 {format_metric2}。</translation>
    </message>
</context>
<context>
    <name>ReviewFooter</name>
    <message>
        <source> (95 % CI {value:.1f}–{value2:.1f} %)</source>
        <translation>（95 % 置信区间 {value:.1f}–{value2:.1f} %）</translation>
    </message>
    <message>
        <source>no figure</source>
        <translation>无数据</translation>
    </message>
    <message>
        <source>&lt;b&gt;{family_name}&lt;/b&gt;: here {here} · card {card_text}</source>
        <translation>&lt;b&gt;{family_name}&lt;/b&gt;：本地 {here} · 模型卡 {card_text}</translation>
    </message>
    <message>
        <source>Fine-tune on reviewed cases…</source>
        <translation>用已审阅的病例微调…</translation>
    </message>
    <message>
        <source>Open the fine-tune dialog with your labels as the training data and the random share&apos;s labels as the validation data</source>
        <translation>打开微调对话框：以您的标注作为训练数据，以随机抽样部分的标注作为验证数据</translation>
    </message>
    <message>
        <source>Accuracy of each model on the labelled images of the queue&apos;s random share (drawn uniformly from the scan, so unbiased), with a bootstrap 95 % CI; &apos;card&apos; is the validation accuracy its model card states</source>
        <translation>各模型在队列随机抽样部分（从扫描中均匀抽取，因此无偏）已标注图像上的准确率，附自助法 95 % 置信区间；“模型卡”为其模型卡所述的验证准确率</translation>
    </message>
    <message>
        <source>Local accuracy on the random share:&lt;br&gt;</source>
        <translation>随机抽样部分的本地准确率：&lt;br&gt;</translation>
    </message>
</context>
<context>
    <name>ReviewKeys</name>
    <message>
        <source>S  skip</source>
        <translation>S  跳过</translation>
    </message>
    <message>
        <source>Skip this image (S)</source>
        <translation>跳过此图像 (S)</translation>
    </message>
    <message>
        <source>Z  undo</source>
        <translation>Z  撤销</translation>
    </message>
    <message>
        <source>Undo the last label or skip (Z)</source>
        <translation>撤销上一次标注或跳过 (Z)</translation>
    </message>
    <message>
        <source>Previous image (←)</source>
        <translation>上一张图像 (←)</translation>
    </message>
    <message>
        <source>Next image (→)</source>
        <translation>下一张图像 (→)</translation>
    </message>
    <message>
        <source>H  heat-map</source>
        <translation>H  热力图</translation>
    </message>
    <message>
        <source>Show or hide the selected model&apos;s heat-map (H)</source>
        <translation>显示或隐藏所选模型的热力图 (H)</translation>
    </message>
    <message>
        <source>Label this image “{name}” ({value})</source>
        <translation>将此图像标注为“{name}”({value})</translation>
    </message>
</context>
<context>
    <name>ReviewLauncher</name>
    <message>
        <source>Budget </source>
        <translation>数量 </translation>
    </message>
    <message>
        <source>How many images to queue for review: the labels you mean to give</source>
        <translation>要加入审阅队列的图像数量：即您打算标注的数量</translation>
    </message>
    <message>
        <source>Review uncertain cases…</source>
        <translation>审阅不确定的病例…</translation>
    </message>
    <message>
        <source>Rank the scanned images by how much a label would teach the models (closeness to the threshold, disagreement, near the training data&apos;s edge, plus a random share) and label them one by one</source>
        <translation>按标注对模型的帮助程度对已扫描图像排序（接近阈值、模型间分歧、接近训练数据边缘，另加随机抽样部分），然后逐张标注</translation>
    </message>
</context>
<context>
    <name>ReviewWindow</name>
    <message>
        <source>⚠ This file changed on disk since the scan: the queue&apos;s probabilities are not about this image (its label is kept, flagged &apos;changed&apos;).</source>
        <translation>⚠ 此文件在扫描后已在磁盘上更改：队列中的概率并非针对此图像（其标注会保留，并标记为“已更改”）。</translation>
    </message>
    <message>
        <source>Cannot open the review queue</source>
        <translation>无法打开审阅队列</translation>
    </message>
    <message>
        <source>Could not load the models</source>
        <translation>未能加载模型</translation>
    </message>
    <message>
        <source>Prediction failed</source>
        <translation>预测失败</translation>
    </message>
    <message>
        <source>Heat-map failed</source>
        <translation>热力图生成失败</translation>
    </message>
    <message>
        <source>Local accuracy failed</source>
        <translation>本地准确率计算失败</translation>
    </message>
    <message>
        <source>Review queue — MedDiag Desktop</source>
        <translation>审阅队列 — MedDiag Desktop</translation>
    </message>
    <message>
        <source>Open a review queue.</source>
        <translation>请打开一个审阅队列。</translation>
    </message>
    <message>
        <source>The queue in rank order (click to jump; ←/→ move)</source>
        <translation>按排名顺序排列的队列（单击跳转；←/→ 移动）</translation>
    </message>
    <message>
        <source>Open a review queue</source>
        <translation>打开审阅队列</translation>
    </message>
    <message>
        <source>Review queues (*.csv);;All files (*)</source>
        <translation>审阅队列 (*.csv);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Ranking {len} scanned images…</source>
        <translation>正在对 {len} 张已扫描图像排序…</translation>
    </message>
    <message>
        <source>{len} images queued; loading the models…</source>
        <translation>已将 {len} 张图像加入队列；正在加载模型…</translation>
    </message>
    <message>
        <source>Cannot open the review set</source>
        <translation>无法打开审阅集</translation>
    </message>
    <message>
        <source>Review {basename} — MedDiag Desktop</source>
        <translation>审阅 {basename} — MedDiag Desktop</translation>
    </message>
    <message>
        <source> — skipped</source>
        <translation>——已跳过</translation>
    </message>
    <message>
        <source>{value} labelled, {skipped} skipped</source>
        <translation>已标注 {value}，已跳过 {skipped}</translation>
    </message>
    <message>
        <source>not reviewed yet</source>
        <translation>尚未审阅</translation>
    </message>
    <message>
        <source>skipped</source>
        <translation>已跳过</translation>
    </message>
    <message>
        <source>labelled &lt;b&gt;{label}&lt;/b&gt;</source>
        <translation>已标注为 &lt;b&gt;{label}&lt;/b&gt;</translation>
    </message>
    <message>
        <source> — every image of the queue is reviewed</source>
        <translation>——队列中的所有图像均已审阅</translation>
    </message>
    <message>
        <source>Label not saved</source>
        <translation>标注未保存</translation>
    </message>
    <message>
        <source>Nothing to undo</source>
        <translation>没有可撤销的操作</translation>
    </message>
    <message>
        <source>Undone: {file_name}</source>
        <translation>已撤销：{file_name}</translation>
    </message>
    <message>
        <source>Cannot export the review set</source>
        <translation>无法导出审阅集</translation>
    </message>
    <message>
        <source>Fine-tune dialog: {rows} training images</source>
        <translation>微调对话框：{rows} 张训练图像</translation>
    </message>
    <message>
        <source> + the random share for validation</source>
        <translation> + 随机抽样部分用于验证</translation>
    </message>
</context>
<context>
    <name>ScanDicom</name>
    <message>
        <source>DICOM export cancelled after {files} file(s)</source>
        <translation>DICOM 导出在 {files} 个文件后取消</translation>
    </message>
    <message>
        <source>DICOM export of {files} file(s)</source>
        <translation>已导出 {files} 个文件的 DICOM 结果</translation>
    </message>
</context>
<context>
    <name>ScanDicomResults</name>
    <message>
        <source>Write DICOM results</source>
        <translation>写入 DICOM 结果</translation>
    </message>
    <message>
        <source>While scanning, also write a DICOM structured report and secondary captures for every DICOM file into a folder (chosen when ticked)</source>
        <translation>扫描的同时，为每个 DICOM 文件将 DICOM 结构化报告和二次捕获写入文件夹（勾选时选择文件夹）</translation>
    </message>
    <message>
        <source> to {value}</source>
        <translation>到 {value}</translation>
    </message>
    <message>
        <source>Folder for the DICOM results</source>
        <translation>DICOM 结果的文件夹</translation>
    </message>
</context>
<context>
    <name>ScanExports</name>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>CSV 文件 (*.csv)</translation>
    </message>
    <message>
        <source>Anonymised export cancelled</source>
        <translation>匿名化导出已取消</translation>
    </message>
    <message>
        <source>Anonymised export</source>
        <translation>匿名化导出</translation>
    </message>
    <message>
        <source>{head}: {counts} de-identified copies in {out_dir}, {counts2} non-DICOM skipped, {counts3} errors. Text burned into the pixels is not removed.</source>
        <translation>{head}：{out_dir} 中有 {counts} 个去标识化副本，跳过 {counts2} 个非 DICOM 文件，{counts3} 个错误。烧录在像素中的文字不会被移除。</translation>
    </message>
</context>
<context>
    <name>ScanResults</name>
    <message>
        <source>All statuses</source>
        <translation>所有状态</translation>
    </message>
    <message>
        <source>OK only</source>
        <translation>仅成功</translation>
    </message>
    <message>
        <source>Errors only</source>
        <translation>仅错误</translation>
    </message>
    <message>
        <source>Scan cancelled before any file was read.</source>
        <translation>扫描在读取任何文件之前已取消。</translation>
    </message>
    <message>
        <source>No files scanned.</source>
        <translation>未扫描任何文件。</translation>
    </message>
    <message>
        <source>Cancelled after {done} of {total} files</source>
        <translation>已在 {done}/{total} 个文件后取消</translation>
    </message>
    <message>
        <source>Scanned {done} files</source>
        <translation>已扫描 {done} 个文件</translation>
    </message>
    <message>
        <source>, {skipped} non-image skipped</source>
        <translation>，跳过 {skipped} 个非图像文件</translation>
    </message>
    <message>
        <source>{head}: {ok} ok, {errors} errors{skipped}, {elapsed_s:.1f} s, {rate:.1f} files/s</source>
        <translation>{head}：成功 {ok}，错误 {errors}{skipped}，用时 {elapsed_s:.1f} 秒，{rate:.1f} 个文件/秒</translation>
    </message>
</context>
<context>
    <name>ScanResultsPanel</name>
    <message>
        <source>Show every row, only the files read, or only the errors</source>
        <translation>显示所有行、仅已读取的文件或仅错误</translation>
    </message>
    <message>
        <source>All labels</source>
        <translation>所有标签</translation>
    </message>
    <message>
        <source>Show only the rows with this label</source>
        <translation>仅显示带有此标签的行</translation>
    </message>
    <message>
        <source>Probability ≥ </source>
        <translation>概率 ≥ </translation>
    </message>
    <message>
        <source>Any probability</source>
        <translation>任意概率</translation>
    </message>
    <message>
        <source>Show only the rows whose probability (of their label) is at least this</source>
        <translation>仅显示（其标签的）概率不低于此值的行</translation>
    </message>
    <message>
        <source>Minimum probability</source>
        <translation>最低概率</translation>
    </message>
    <message>
        <source>Export CSV…</source>
        <translation>导出 CSV…</translation>
    </message>
    <message>
        <source>Save every row (scan order, the command line&apos;s columns) as a CSV file</source>
        <translation>将所有行（按扫描顺序，与命令行相同的列）保存为 CSV 文件</translation>
    </message>
    <message>
        <source>Export anonymised DICOM copies…</source>
        <translation>导出匿名化 DICOM 副本…</translation>
    </message>
    <message>
        <source>Write de-identified copies (PS3.15 basic profile) of the scanned DICOM files into a folder; text burned into the pixels is not removed</source>
        <translation>将已扫描 DICOM 文件的去标识化副本（PS3.15 基本配置）写入文件夹；烧录在像素中的文字不会被移除</translation>
    </message>
    <message>
        <source>Export DICOM results…</source>
        <translation>导出 DICOM 结果…</translation>
    </message>
    <message>
        <source>Write a DICOM structured report and heat-map secondary captures for every scanned DICOM file into a folder (in each file&apos;s own study)</source>
        <translation>为每个已扫描的 DICOM 文件将 DICOM 结构化报告和热力图二次捕获写入文件夹（归入各文件所属的检查）</translation>
    </message>
    <message>
        <source>Show:</source>
        <translation>显示：</translation>
    </message>
    <message>
        <source>Double-click a row to open the image in the main window</source>
        <translation>双击一行可在主窗口中打开图像</translation>
    </message>
    <message>
        <source>Scan results</source>
        <translation>扫描结果</translation>
    </message>
    <message>
        <source>{total} rows</source>
        <translation>{total} 行</translation>
    </message>
    <message>
        <source>showing {shown} of {total} rows</source>
        <translation>显示 {shown}/{total} 行</translation>
    </message>
</context>
<context>
    <name>ScanTable</name>
    <message>
        <source>File</source>
        <translation>文件</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>状态</translation>
    </message>
    <message>
        <source>Label</source>
        <translation>标签</translation>
    </message>
    <message>
        <source>Probability</source>
        <translation>概率</translation>
    </message>
    <message>
        <source>In training range</source>
        <translation>在训练范围内</translation>
    </message>
    <message>
        <source>Error</source>
        <translation>错误</translation>
    </message>
    <message>
        <source>OK</source>
        <translation>成功</translation>
    </message>
    <message>
        <source>error</source>
        <translation>错误</translation>
    </message>
    <message>
        <source>yes</source>
        <translation>是</translation>
    </message>
    <message>
        <source>no</source>
        <translation>否</translation>
    </message>
</context>
<context>
    <name>ScanTableModel</name>
    <message>
        <source>Probability of the model&apos;s label</source>
        <translation>模型所给标签的概率</translation>
    </message>
</context>
<context>
    <name>ScanWindow</name>
    <message>
        <source>Scan failed</source>
        <translation>扫描失败</translation>
    </message>
    <message>
        <source>Could not export the CSV</source>
        <translation>未能导出 CSV</translation>
    </message>
    <message>
        <source>Anonymised export failed</source>
        <translation>匿名化导出失败</translation>
    </message>
    <message>
        <source>DICOM export failed</source>
        <translation>DICOM 导出失败</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>失败</translation>
    </message>
    <message>
        <source>Scan folders — MedDiag Desktop</source>
        <translation>扫描文件夹 — MedDiag Desktop</translation>
    </message>
    <message>
        <source>Task: –</source>
        <translation>任务：–</translation>
    </message>
    <message>
        <source>Include sub-folders</source>
        <translation>包括子文件夹</translation>
    </message>
    <message>
        <source>Also scan the folders inside the chosen folders</source>
        <translation>同时扫描所选文件夹中的子文件夹</translation>
    </message>
    <message>
        <source>Scan folders…</source>
        <translation>扫描文件夹…</translation>
    </message>
    <message>
        <source>Choose one or more folders and scan them with the ticked models</source>
        <translation>选择一个或多个文件夹，并用勾选的模型扫描</translation>
    </message>
    <message>
        <source>Models:</source>
        <translation>模型：</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Stop the scan after the current batch; the rows so far are kept</source>
        <translation>在当前批次完成后停止扫描；保留已有的行</translation>
    </message>
    <message>
        <source>Folder for the DICOM results</source>
        <translation>DICOM 结果的文件夹</translation>
    </message>
    <message>
        <source>Choose folders to scan.</source>
        <translation>请选择要扫描的文件夹。</translation>
    </message>
    <message>
        <source>loading…</source>
        <translation>正在加载…</translation>
    </message>
    <message>
        <source>Task: {title}</source>
        <translation>任务：{title}</translation>
    </message>
    <message>
        <source> - DEMO model, not diagnostic</source>
        <translation> - 演示模型，不可用于诊断</translation>
    </message>
    <message>
        <source>none installed</source>
        <translation>未安装任何模型</translation>
    </message>
    <message>
        <source>Scan folders</source>
        <translation>扫描文件夹</translation>
    </message>
    <message>
        <source>A scan is running: cancel it first.</source>
        <translation>扫描正在进行：请先取消。</translation>
    </message>
    <message>
        <source>The models are still loading.</source>
        <translation>模型仍在加载。</translation>
    </message>
    <message>
        <source>Tick at least one model.</source>
        <translation>请至少勾选一个模型。</translation>
    </message>
    <message>
        <source>No folder chosen.</source>
        <translation>未选择文件夹。</translation>
    </message>
    <message>
        <source>No such folder: {missing}</source>
        <translation>文件夹不存在：{missing}</translation>
    </message>
    <message>
        <source>Cannot scan</source>
        <translation>无法扫描</translation>
    </message>
    <message>
        <source> and {value} more</source>
        <translation> 及另外 {value} 个</translation>
    </message>
    <message>
        <source>Folders: {shown}</source>
        <translation>文件夹：{shown}</translation>
    </message>
    <message>
        <source> (sub-folders left out)</source>
        <translation>（不含子文件夹）</translation>
    </message>
    <message>
        <source>Finding files…</source>
        <translation>正在查找文件…</translation>
    </message>
    <message>
        <source>Loading {len} model(s)…</source>
        <translation>正在加载 {len} 个模型…</translation>
    </message>
    <message>
        <source>Cancelling after the current batch…</source>
        <translation>将在当前批次完成后取消…</translation>
    </message>
    <message>
        <source>CPU</source>
        <translation>CPU</translation>
    </message>
    <message>
        <source>Scanning with {len} model(s) on {device}…</source>
        <translation>正在 {device} 上用 {len} 个模型扫描…</translation>
    </message>
    <message>
        <source>{done} / {total} files</source>
        <translation>{done} / {total} 个文件</translation>
    </message>
    <message>
        <source>{rate:.1f} files/s · ETA {duration_text}</source>
        <translation>{rate:.1f} 个文件/秒 · 预计剩余 {duration_text}</translation>
    </message>
    <message>
        <source>  [DEMO model(s): not diagnostic]</source>
        <translation>  [演示模型：不可用于诊断]</translation>
    </message>
    <message>
        <source>  (audit scan {scan_id})</source>
        <translation>  （审计扫描 {scan_id}）</translation>
    </message>
    <message>
        <source>Export scan results</source>
        <translation>导出扫描结果</translation>
    </message>
    <message>
        <source>{summary}
Exported {count} rows to {basename}.</source>
        <translation>{summary}
已将 {count} 行导出到 {basename}。</translation>
    </message>
    <message>
        <source>Folder for the anonymised copies</source>
        <translation>匿名化副本的文件夹</translation>
    </message>
    <message>
        <source>DICOM results</source>
        <translation>DICOM 结果</translation>
    </message>
</context>
<context>
    <name>SetupPage</name>
    <message>
        <source>Start training</source>
        <translation>开始训练</translation>
    </message>
    <message>
        <source>Training data</source>
        <translation>训练数据</translation>
    </message>
    <message>
        <source>An image folder (one sub-folder per class) or a CSV file with path,label</source>
        <translation>图像文件夹（每个类别一个子文件夹）或包含 path,label 列的 CSV 文件</translation>
    </message>
    <message>
        <source>Folder…</source>
        <translation>文件夹…</translation>
    </message>
    <message>
        <source>CSV file…</source>
        <translation>CSV 文件…</translation>
    </message>
    <message>
        <source>Data:</source>
        <translation>数据：</translation>
    </message>
    <message>
        <source>Optional: separate validation data (folder or CSV path,label)</source>
        <translation>可选：单独的验证数据（文件夹或 CSV path,label）</translation>
    </message>
    <message>
        <source>Validation:</source>
        <translation>验证：</translation>
    </message>
    <message>
        <source>Choose a data set to see its classes.</source>
        <translation>选择数据集以查看其类别。</translation>
    </message>
    <message>
        <source>Use the data&apos;s own label set (the classifier head is re-initialised)</source>
        <translation>使用数据自身的标签集（重新初始化分类头）</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>模型</translation>
    </message>
    <message>
        <source>The model to start from (shipped or one of your versions), or none</source>
        <translation>作为起点的模型（随附模型或您的某个版本），或不使用</translation>
    </message>
    <message>
        <source>Base model:</source>
        <translation>基础模型：</translation>
    </message>
    <message>
        <source>Family (from scratch):</source>
        <translation>模型族（从头训练）：</translation>
    </message>
    <message>
        <source>Task (from scratch):</source>
        <translation>任务（从头训练）：</translation>
    </message>
    <message>
        <source>Training</source>
        <translation>训练</translation>
    </message>
    <message>
        <source>Epochs:</source>
        <translation>轮数：</translation>
    </message>
    <message>
        <source>Learning rate:</source>
        <translation>学习率：</translation>
    </message>
    <message>
        <source>Batch size:</source>
        <translation>批大小：</translation>
    </message>
    <message>
        <source>Stratified validation fraction (not used when the folder has a val/ sub-folder)</source>
        <translation>分层抽样的验证集比例（文件夹含 val/ 子文件夹时不使用）</translation>
    </message>
    <message>
        <source>Validation fraction:</source>
        <translation>验证集比例：</translation>
    </message>
    <message>
        <source>Augment (small rotations, shifts, contrast changes)</source>
        <translation>数据增强（小幅旋转、平移、对比度变化）</translation>
    </message>
    <message>
        <source>A base model keeps its own augmentation and training settings, per member for an ensemble (e.g. left-right flips)</source>
        <translation>基础模型沿用其自身的数据增强和训练设置，集成模型按成员分别沿用（例如左右翻转）</translation>
    </message>
    <message>
        <source>Device:</source>
        <translation>设备：</translation>
    </message>
    <message>
        <source>None — train from scratch</source>
        <translation>无——从头训练</translation>
    </message>
    <message>
        <source>Training images (one sub-folder per class)</source>
        <translation>训练图像（每个类别一个子文件夹）</translation>
    </message>
    <message>
        <source>CSV with path,label</source>
        <translation>包含 path,label 的 CSV</translation>
    </message>
    <message>
        <source>CSV files (*.csv);;All files (*)</source>
        <translation>CSV 文件 (*.csv);;所有文件 (*)</translation>
    </message>
    <message>
        <source>Reading the data set…</source>
        <translation>正在读取数据集…</translation>
    </message>
    <message>
        <source>&lt;b&gt;{sum}&lt;/b&gt; training and &lt;b&gt;{sum2}&lt;/b&gt; validation images ({val_source}).&lt;table&gt;&lt;tr&gt;&lt;td&gt;&lt;/td&gt;{head}&lt;/tr&gt;{row}{row2}&lt;/table&gt;</source>
        <translation>训练图像 &lt;b&gt;{sum}&lt;/b&gt; 张，验证图像 &lt;b&gt;{sum2}&lt;/b&gt; 张（{val_source}）。&lt;table&gt;&lt;tr&gt;&lt;td&gt;&lt;/td&gt;{head}&lt;/tr&gt;{row}{row2}&lt;/table&gt;</translation>
    </message>
    <message>
        <source>Small set: &lt;b&gt;{folds}-fold cross-validation&lt;/b&gt; over training + validation (every image scored by a model that did not train on it, near-duplicate images kept in one fold: these figures choose the threshold), then the model you save is trained on all of them.</source>
        <translation>小数据集：对训练集 + 验证集进行 &lt;b&gt;{folds} 折交叉验证&lt;/b&gt;（每张图像均由未在其上训练的模型评分，近似重复的图像归入同一折，并据此选择阈值），随后保存的模型在全部图像上训练。</translation>
    </message>
    <message>
        <source>The data&apos;s classes ({join}) are not the base model&apos;s labels ({join2}). Tick the box below to train a new label set.</source>
        <translation>数据的类别（{join}）与基础模型的标签（{join2}）不同。勾选下方的复选框以训练新的标签集。</translation>
    </message>
    <message>
        <source>&lt;span style=&apos;color:{error}&apos;&gt;Cannot use this data: {message}&lt;/span&gt;</source>
        <translation>&lt;span style=&apos;color:{error}&apos;&gt;无法使用这些数据：{message}&lt;/span&gt;</translation>
    </message>
</context>
<context>
    <name>Style</name>
    <message>
        <source>Decision support only — not for diagnostic use.</source>
        <translation>仅供辅助决策——不可用于诊断。</translation>
    </message>
    <message>
        <source>DEMO — not trained for diagnosis</source>
        <translation>演示——未针对诊断训练</translation>
    </message>
    <message>
        <source>Out of scope</source>
        <translation>超出适用范围</translation>
    </message>
    <message>
        <source>OOD score {score:.2f} (limit 1)</source>
        <translation>分布外评分 {score:.2f}（上限 1）</translation>
    </message>
    <message>
        <source>No decision: the image is unlike the training data, so the probabilities above are not trustworthy. Check that it is the right kind of image for this task (modality, view, whole image), or choose another task; otherwise read it without the assistant.</source>
        <translation>不作判定：该图像与训练数据不同，因此上面的概率不可信。请检查它是否为适合此任务的图像类型（模态、体位、完整图像），或选择其他任务；否则请在没有辅助的情况下阅片。</translation>
    </message>
</context>
<context>
    <name>TrainingCurves</name>
    <message>
        <source>Loss</source>
        <translation>损失</translation>
    </message>
    <message>
        <source>Validation metrics</source>
        <translation>验证指标</translation>
    </message>
    <message>
        <source>train loss (per step)</source>
        <translation>训练损失（每步）</translation>
    </message>
    <message>
        <source>train loss (smoothed)</source>
        <translation>训练损失（平滑）</translation>
    </message>
    <message>
        <source>validation loss</source>
        <translation>验证损失</translation>
    </message>
    <message>
        <source>best</source>
        <translation>最佳</translation>
    </message>
</context>
<context>
    <name>TrainingPanel</name>
    <message>
        <source>Training</source>
        <translation>训练</translation>
    </message>
    <message>
        <source>Stop early</source>
        <translation>提前停止</translation>
    </message>
    <message>
        <source>Finish now and keep the best epoch so far</source>
        <translation>立即结束并保留目前最佳的轮次</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>取消</translation>
    </message>
    <message>
        <source>Discard this run; nothing is saved and the active model stays</source>
        <translation>放弃本次训练；不保存任何内容，当前启用的模型保持不变</translation>
    </message>
    <message>
        <source>Preparing the images…</source>
        <translation>正在准备图像…</translation>
    </message>
    <message>
        <source>Epoch {epoch}/{epochs} · step {step}/{steps} · loss {loss:.4f} · ETA {eta_text}</source>
        <translation>轮次 {epoch}/{epochs} · 步 {step}/{steps} · 损失 {loss:.4f} · 预计剩余 {eta_text}</translation>
    </message>
    <message>
        <source>Epoch {epoch}: train loss {train_loss:.4f}, validation loss {val_loss:.4f} · {scores}{value}</source>
        <translation>轮次 {epoch}：训练损失 {train_loss:.4f}，验证损失 {val_loss:.4f} · {scores}{value}</translation>
    </message>
    <message>
        <source>{get} after {epochs_run} epoch(s); best epoch {best_epoch}. Evaluating…</source>
        <translation>{get}，共 {epochs_run} 轮；最佳轮次 {best_epoch}。正在评估…</translation>
    </message>
</context>
<context>
    <name>ViewerSession</name>
    <message>
        <source>Cannot open {file_name}:
{image_errors}</source>
        <translation>无法打开 {file_name}：
{image_errors}</translation>
    </message>
    <message>
        <source>Loading {file_name}…</source>
        <translation>正在加载 {file_name}…</translation>
    </message>
    <message>
        <source>Cannot open {file_name}:
{message}</source>
        <translation>无法打开 {file_name}：
{message}</translation>
    </message>
    <message>
        <source>Cannot open image</source>
        <translation>无法打开图像</translation>
    </message>
    <message>
        <source>Loading models…</source>
        <translation>正在加载模型…</translation>
    </message>
    <message>
        <source>No models installed. The shipped weights are missing from {shipped_weights_dir} (see the README), or add your own models.</source>
        <translation>未安装任何模型。{shipped_weights_dir} 中缺少随附的权重（参见 README），或请添加您自己的模型。</translation>
    </message>
    <message>
        <source>{len} model(s) could not be loaded - see their columns.</source>
        <translation>{len} 个模型无法加载——请查看其所在列。</translation>
    </message>
    <message>
        <source>Open an image to see the predictions.</source>
        <translation>打开图像以查看预测。</translation>
    </message>
    <message>
        <source>Computing {method_name}…</source>
        <translation>正在计算{method_name}…</translation>
    </message>
</context>
</TS>
